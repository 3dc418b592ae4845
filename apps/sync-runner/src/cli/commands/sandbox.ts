import {
  DEFAULT_SANDBOX_ELOQUA_URL,
  DEFAULT_SANDBOX_SENDGRID_URL,
  SANDBOX_ELOQUA_CREDENTIALS,
} from '../../config/index.ts';
import { type CommandIO, errorMessage } from '../io.ts';

export interface SandboxCommandOptions {
  readonly host?: string;
  /** SendGrid emulator port (default 4011, the starter config's). */
  readonly sendgridPort?: number;
  /** Eloqua emulator port (default 4010). */
  readonly eloquaPort?: number;
  /** Only one emulator. */
  readonly only?: 'eloqua' | 'sendgrid';
  /** No start delay, unlimited processing rate (benchmarks). */
  readonly zeroDelay?: boolean;
  /** Seed of the fault dice. */
  readonly seed?: number;
  readonly logRequests?: boolean;
}

const DEFAULT_SENDGRID_PORT = Number(new URL(DEFAULT_SANDBOX_SENDGRID_URL).port);
const DEFAULT_ELOQUA_PORT = Number(new URL(DEFAULT_SANDBOX_ELOQUA_URL).port);

/** `ferry sandbox`: starts the vendor emulators and serves until Ctrl-C. */
export const sandboxCommand = async (options: SandboxCommandOptions, io: CommandIO): Promise<number> => {
  try {
    // Loaded on demand: the emulators (fastify, spec validation) are not needed by any other command.
    const { startSandbox } = await import('@ferry/sandbox');
    const common = {
      ...(options.host === undefined ? {} : { host: options.host }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
      ...(options.logRequests === true ? { logRequests: true } : {}),
    };
    const sandbox = await startSandbox({
      ...common,
      zeroDelay: options.zeroDelay ?? false,
      eloqua:
        options.only === 'sendgrid'
          ? false
          : {
              ...common,
              port: options.eloquaPort ?? DEFAULT_ELOQUA_PORT,
              siteName: SANDBOX_ELOQUA_CREDENTIALS.site,
              username: SANDBOX_ELOQUA_CREDENTIALS.username,
              password: SANDBOX_ELOQUA_CREDENTIALS.password,
            },
      sendgrid:
        options.only === 'eloqua'
          ? false
          : { ...common, port: options.sendgridPort ?? DEFAULT_SENDGRID_PORT },
    });
    const lines = ['Sandbox running (Ctrl-C to stop):'];
    if (sandbox.eloqua !== undefined) {
      const { site, username, password } = SANDBOX_ELOQUA_CREDENTIALS;
      lines.push(
        `  eloqua    ${sandbox.eloqua.url}   (loginUrl; basic auth: site ${site}, username ${username}, password ${password})`,
      );
    }
    if (sandbox.sendgrid !== undefined)
      lines.push(`  sendgrid  ${sandbox.sendgrid.url}   (baseUrl; API key: SG.sandbox)`);
    io.stdout.write(`${lines.join('\n')}\n`);
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      else io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await sandbox.close();
    io.stdout.write('Sandbox stopped.\n');
    return 0;
  } catch (error) {
    io.stderr.write(`${errorMessage(error)}\n`);
    return 1;
  }
};
