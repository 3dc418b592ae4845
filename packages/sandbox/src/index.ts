import { createEloquaServer, type EloquaOptions } from './eloqua/server.ts';
import { createSendgridServer, type SendgridOptions } from './sendgrid/server.ts';
import type { CommonOptions, VendorServer } from './vendor-server.ts';

export type { EloquaOptions } from './eloqua/server.ts';
export * from './faults.ts';
export type { SendgridOptions } from './sendgrid/server.ts';
export type { CommonOptions, RequestLogEntry } from './vendor-server.ts';

export interface SandboxOptions extends CommonOptions {
  /** Eloqua emulator settings, or `false` to not start it. */
  readonly eloqua?: (EloquaOptions & CommonOptions) | false;
  /** SendGrid emulator settings, or `false` to not start it. */
  readonly sendgrid?: (SendgridOptions & CommonOptions) | false;
  /** Benchmarks: no start delay, infinite processing rate (per-vendor settings still win). */
  readonly zeroDelay?: boolean;
}

export interface RunningSandbox {
  /** `url` doubles as Eloqua's login host (`GET /id`) and its pod base URL. */
  readonly eloqua?: { readonly url: string; readonly server: VendorServer };
  readonly sendgrid?: { readonly url: string; readonly server: VendorServer };
  readonly close: () => Promise<void>;
}

/** Starts the emulators in-process on loopback ports (free ones unless ports are given). */
export const startSandbox = async (options: SandboxOptions = {}): Promise<RunningSandbox> => {
  const { eloqua, sendgrid, zeroDelay, ...common } = options;
  const base: CommonOptions = zeroDelay
    ? { startDelayMs: 0, recordsPerSecond: Number.POSITIVE_INFINITY, ...common }
    : common;
  const started: { eloqua?: RunningSandbox['eloqua']; sendgrid?: RunningSandbox['sendgrid'] } = {};
  const servers: VendorServer[] = [];
  try {
    if (eloqua !== false) {
      const server = createEloquaServer({ ...base, ...eloqua });
      servers.push(server);
      started.eloqua = { url: await server.listen(), server };
    }
    if (sendgrid !== false) {
      const server = createSendgridServer({ ...base, ...sendgrid });
      servers.push(server);
      started.sendgrid = { url: await server.listen(), server };
    }
  } catch (error) {
    await Promise.allSettled(servers.map((s) => s.close()));
    throw error;
  }
  return { ...started, close: async () => void (await Promise.all(servers.map((s) => s.close()))) };
};
