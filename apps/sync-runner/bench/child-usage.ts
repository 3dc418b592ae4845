/**
 * Preloaded into the processes the sync benchmark measures (`node --import …/child-usage.ts`): when
 * `FERRY_BENCH_USAGE_FILE` is set, the process writes its own resource usage there as it exits, so
 * its peak RSS is its own and not its parent's or the sandbox's. It also samples its memory every
 * 100 ms and keeps the sample with the highest RSS, to show what the peak was made of. Without the
 * variable it does nothing.
 */
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

export interface ChildUsage {
  /** Peak resident set size, kilobytes (getrusage ru_maxrss). */
  readonly maxRssKb: number;
  /** CPU time, microseconds. */
  readonly userUs: number;
  readonly systemUs: number;
  /** The memory sample with the highest RSS, in bytes (absent when the process ended within 100 ms). */
  readonly peak?: {
    readonly rss: number;
    /** V8 heap reserved, and the part of it that is the young generation (new space). */
    readonly heapTotal: number;
    readonly newSpace: number;
    readonly heapUsed: number;
    /** Memory outside the V8 heap that V8 knows of (Buffers, ArrayBuffers). */
    readonly external: number;
  };
}

const target = process.env.FERRY_BENCH_USAGE_FILE;
if (target !== undefined && target !== '') {
  let peak: ChildUsage['peak'];
  const sample = (): void => {
    const memory = process.memoryUsage();
    if (peak !== undefined && memory.rss <= peak.rss) return;
    const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
    peak = {
      rss: memory.rss,
      heapTotal: memory.heapTotal,
      newSpace: newSpace?.space_size ?? 0,
      heapUsed: memory.heapUsed,
      external: memory.external,
    };
  };
  setInterval(sample, 100).unref();
  process.once('exit', () => {
    const usage = process.resourceUsage();
    const report: ChildUsage = {
      maxRssKb: usage.maxRSS,
      userUs: usage.userCPUTime,
      systemUs: usage.systemCPUTime,
      ...(peak === undefined ? {} : { peak }),
    };
    writeFileSync(target, JSON.stringify(report));
  });
}
