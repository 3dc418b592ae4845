/**
 * SendGrid export benchmark: a 100,000-profile sync on each submission path.
 *
 *   pnpm exec node bench/export.bench.ts            (from packages/plugin-sendgrid)
 *   pnpm exec node bench/export.bench.ts 20000      (fewer profiles)
 *
 * Part 1 — time in the plugin: `measure`, and `exportProfiles` + `checkStatus` with an HTTP client
 * that answers at once (no network, no vendor), so the figures are the plugin's own work: encoding,
 * validation, JSON bodies, CSV + gzip. Each path is warmed up on 20,000 profiles first.
 * Part 2 — calls: the same sync against the local SendGrid emulator (zero-delay mode, real HTTP),
 * packed like the runner packs (core's packBatches with the destination's limits and measure),
 * with the calls counted from `/__sandbox/stats`.
 * Part 3 — memory of one CSV (gzip) submission of all the profiles: the most live heap (plus Buffer
 * memory) above what it was before, sampled after a full GC at every HTTP call, once the upload is
 * under way, and every 10,000 changes read. Once with an array the caller holds (not counted), once
 * with a batch made page by page as the runner's store hands it over (nothing held outside the plugin).
 *
 * `exportProfiles` is timed on arrays, `streamed` on the same jobs as paged async batches (core's
 * `streamedBatch`), which is what the runner passes.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  createContext,
  type HttpClient,
  type HttpRequest,
  type HttpResponse,
  type JobHandle,
  type JobMember,
  type ProfileBatch,
  type ProfileChange,
  packBatches,
  type UpsertChange,
} from '@ferry/core';
import { membersOf, streamedBatch } from '@ferry/core/testing';
import { startSandbox } from '@ferry/sandbox';
import { sendgrid } from '../src/index.ts';

const PROFILES = Number(process.argv[2] ?? 100_000);
const KEY = 'SG.bench';
const CITIES = ['Zürich', 'London', '東京都', 'São Paulo', 'Amsterdam', 'Kraków'];

const profile = (n: number): UpsertChange => {
  const email = `person.${n}@example.com`;
  return {
    kind: 'upsert',
    profileId: `p${n}`,
    identity: email,
    fields: {
      email,
      first_name: n % 7 === 0 ? 'Zoë' : `First${n}`,
      last_name: `Last, ${n}`,
      city: CITIES[n % CITIES.length] ?? 'Bern',
      notes: n % 3 === 0 ? 'likes "quotes", commas\nand lines' : 'plain note',
      score: n % 1000,
      birthday: new Date(Date.UTC(1960 + (n % 40), n % 12, 1 + (n % 28))),
    },
  };
};
const profiles = Array.from({ length: PROFILES }, (_, n) => profile(n));

const fieldDefinitions = {
  custom_fields: [
    { id: 'e1_T', name: 'notes', field_type: 'Text' },
    { id: 'e2_N', name: 'score', field_type: 'Number' },
    { id: 'e3_D', name: 'birthday', field_type: 'Date' },
  ],
  reserved_fields: ['first_name', 'last_name', 'email', 'city'].map((name, at) => ({
    id: `_rf${at}_T`,
    name,
    field_type: 'Text',
  })),
};

/** Called at every request and upload chunk; Part 3 samples the heap there. */
let onActivity = (): void => {};

/** An HTTP client that answers like SendGrid at once and reads request bodies to the end. */
const instantClient = (): HttpClient & { bytes: number; calls: number } => {
  let jobs = 0;
  const client = {
    bytes: 0,
    calls: 0,
    with: () => client,
    request: async <T>(request: HttpRequest): Promise<HttpResponse<T>> => {
      client.calls += 1;
      onActivity();
      const body = request.body;
      if (typeof body === 'string') client.bytes += Buffer.byteLength(body);
      else if (typeof body === 'function') {
        const made = body();
        if (typeof made === 'string' || made instanceof Uint8Array) client.bytes += made.length;
        else {
          let chunks = 0;
          for await (const chunk of made as AsyncIterable<Uint8Array>) {
            client.bytes += chunk.byteLength;
            // Once the upload is under way (its body is built by then); each sample is a full GC.
            if (++chunks === 2) onActivity();
          }
        }
      }
      const url = request.url;
      const answer = (status: number, data: unknown) =>
        ({ status, headers: new Headers(), data }) as HttpResponse<T>;
      if (url.endsWith('/field_definitions')) return answer(200, fieldDefinitions);
      if (request.method === 'PUT' && url === '/v3/marketing/contacts')
        return answer(202, { job_id: `job-${++jobs}` });
      if (request.method === 'PUT' && url === '/v3/marketing/contacts/imports') {
        return answer(200, {
          job_id: `job-${++jobs}`,
          upload_uri: 'https://upload.test/f.csv',
          upload_headers: [],
        });
      }
      if (url.startsWith('https://upload.test/')) return answer(200, '');
      if (url.includes('/imports/')) {
        return answer(200, { id: url.split('/').pop(), status: 'completed', results: { errored_count: 0 } });
      }
      throw new Error(`unexpected ${request.method} ${url}`);
    },
  };
  return client;
};

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits });

/** Packs like the runner: count + bytes, with the destination's own limits and measure. */
const pack = async (options: Record<string, unknown>) => {
  const parsed = createContext(sendgrid, {
    options: { apiKey: KEY, ...options },
    http: instantClient(),
  }).options;
  const limits = sendgrid.limits(parsed);
  const jobs: UpsertChange[][] = [];
  for await (const item of packBatches(profiles, {
    limits,
    measure: (change) => sendgrid.measure(change, parsed),
    destination: 'sendgrid',
  })) {
    if (item.kind === 'batch') jobs.push(item.changes as UpsertChange[]);
    else throw new Error(`oversized profile ${item.change.profileId}`);
  }
  return { jobs, limits };
};

const PATHS = [
  { name: 'json', options: { submission: 'json' } },
  { name: 'csv (gzip)', options: { submission: 'csv' } },
  { name: 'auto', options: { submission: 'auto' } },
] as const;

console.log(`SendGrid export benchmark: ${fmt(PROFILES)} profiles, Node ${process.version}\n`);
console.log('Part 1 — time in the plugin (instant HTTP client, no vendor)');
for (const path of PATHS) {
  const { jobs } = await pack(path.options);
  // Warm-up on a slice, so the figures are the steady state rather than JIT compilation.
  const warm = createContext(sendgrid, { options: { apiKey: KEY, ...path.options }, http: instantClient() });
  for (const change of profiles.slice(0, 20_000)) sendgrid.measure(change, warm.options);
  await sendgrid.exportProfiles(warm, (jobs[0] ?? []).slice(0, 20_000));
  const http = instantClient();
  const ctx = createContext(sendgrid, { options: { apiKey: KEY, ...path.options }, http });
  const measureStart = performance.now();
  let measured = 0;
  for (const change of profiles) measured += sendgrid.measure(change, ctx.options);
  const measureMs = performance.now() - measureStart;
  const exportStart = performance.now();
  const handles: { job: JobHandle; members: JobMember[] }[] = [];
  for (const batch of jobs) {
    const result = await sendgrid.exportProfiles(ctx, batch);
    if (result.job !== null) handles.push({ job: result.job, members: membersOf(batch, result.rejected) });
  }
  const exportMs = performance.now() - exportStart;
  // The runner hands batches over as a paged async stream, not an array.
  const streamedCtx = createContext(sendgrid, {
    options: { apiKey: KEY, ...path.options },
    http: instantClient(),
  });
  const streamedStart = performance.now();
  for (const batch of jobs) await sendgrid.exportProfiles(streamedCtx, streamedBatch(batch, 500));
  const streamedMs = performance.now() - streamedStart;
  const checkStart = performance.now();
  for (const { job, members } of handles) await sendgrid.checkStatus(ctx, job, members);
  const checkMs = performance.now() - checkStart;
  console.log(
    `  ${path.name.padEnd(11)} measure ${fmt((measureMs * 1e6) / PROFILES)} ns/profile (Σ ${fmt(measured / 1e6, 1)} MB) · ` +
      `exportProfiles ${fmt((exportMs * 1e6) / PROFILES)} ns/profile (${fmt(exportMs)} ms, ${jobs.length} job(s), ` +
      `${fmt(http.bytes / 1e6, 1)} MB sent) · streamed ${fmt((streamedMs * 1e6) / PROFILES)} ns/profile · ` +
      `checkStatus ${fmt(checkMs, 1)} ms`,
  );
}

console.log('\nPart 2 — calls against the local emulator (zero delay, real HTTP)');
const sandbox = await startSandbox({
  eloqua: false,
  zeroDelay: true,
  sendgrid: {
    apiKey: KEY,
    customFields: fieldDefinitions.custom_fields.map(({ name, field_type }) => ({
      name,
      field_type,
    })) as never,
  },
});
const url = sandbox.sendgrid?.url ?? '';
const stats = async () =>
  (await (await fetch(`${url}/__sandbox/stats`)).json()) as {
    requests: Record<string, number>;
    total: number;
  };
try {
  for (const path of PATHS.slice(0, 2)) {
    await fetch(`${url}/__sandbox/reset`, { method: 'POST' });
    const { jobs, limits } = await pack(path.options);
    const ctx = createContext(sendgrid, { options: { apiKey: KEY, baseUrl: url, ...path.options } });
    const started = performance.now();
    let rejected = 0;
    let outcomes = 0;
    for (const batch of jobs) {
      const result = await sendgrid.exportProfiles(ctx, batch);
      rejected += result.rejected.length;
      if (result.job === null) continue;
      for (;;) {
        const status = await sendgrid.checkStatus(ctx, result.job, membersOf(batch, result.rejected));
        if (status.state === 'pending') continue;
        if (status.state === 'failed') throw new Error(status.message);
        outcomes += status.outcomes.length;
        break;
      }
    }
    const ms = performance.now() - started;
    const { requests, total } = await stats();
    const held = (await (await fetch(`${url}/__sandbox/contacts/count`)).json()) as { count: number };
    console.log(
      `  ${path.name.padEnd(11)} ${jobs.length} job(s) of ≤ ${fmt(limits.maxProfilesPerJob)} profiles / ${fmt(limits.maxBytesPerJob / 1e6, 1)} MB · ` +
        `${total} calls ${JSON.stringify(requests)} · ${fmt(ms)} ms end to end (${fmt((ms * 1e6) / PROFILES)} ns/profile, ` +
        `emulator included) · held ${fmt(held.count)}, rejected ${rejected + outcomes}`,
    );
  }
} finally {
  await sandbox.close();
}

console.log(
  '\nPart 3 — memory of one CSV (gzip) submission of all the profiles (after a full GC at each sample)',
);
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const liveBytes = (): number => {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};

/** An array (for the plugin as for any code) that samples as it is read. */
class SampledArray<T> extends Array<T> {
  override *[Symbol.iterator](): ArrayIterator<T> {
    for (let at = 0; at < this.length; at += 1) {
      if (at % 10_000 === 0) onActivity();
      yield this[at] as T;
    }
    return undefined;
  }
}

/** Profiles made as they are read, a page at a time like the runner's store; counts its readings. */
const generatedBatch = (count: number): ProfileBatch & { reads: number } => {
  const batch = {
    length: count,
    reads: 0,
    async *[Symbol.asyncIterator](): AsyncGenerator<ProfileChange> {
      batch.reads += 1;
      for (let start = 0; start < count; start += 500) {
        await new Promise((resolve) => setImmediate(resolve));
        if (start % 10_000 === 0) onActivity();
        const page: ProfileChange[] = [];
        for (let n = start; n < Math.min(count, start + 500); n += 1) page.push(profile(n));
        yield* page;
      }
    },
  };
  return batch;
};

const heapDuring = async (label: string, input: ProfileBatch & { reads?: number }) => {
  const ctx = createContext(sendgrid, { options: { apiKey: KEY, submission: 'csv' }, http: instantClient() });
  await sendgrid.exportProfiles(ctx, profiles.slice(0, 1000));
  const base = liveBytes();
  let peak = base;
  onActivity = () => {
    peak = Math.max(peak, liveBytes());
  };
  await sendgrid.exportProfiles(ctx, input);
  onActivity = () => {};
  const reads = input.reads === undefined ? '' : ` · batch read ${input.reads} times`;
  console.log(
    `  ${label.padEnd(28)} peak +${fmt((peak - base) / 1e6, 1)} MB over ${fmt(base / 1e6, 1)} MB${reads}`,
  );
};

// For scale: what holding the batch itself costs (the runner did until batches were streamed).
const heapBytes = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const batchBytes = (): number => {
  const before = heapBytes();
  const held = Array.from({ length: PROFILES }, (_, n) => profile(n));
  const after = heapBytes();
  // `held` is still used here, so the GC could not take it.
  return held.length === PROFILES ? after - before : Number.NaN;
};
console.log(`  ${'the batch itself, as objects'.padEnd(28)} ${fmt(batchBytes() / 1e6, 1)} MB`);
await heapDuring('array held by the caller', SampledArray.from(profiles));
await heapDuring('paged batch made as read', generatedBatch(PROFILES));
