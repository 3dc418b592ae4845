export interface StarterConfigOptions {
  /** Base URL of the SendGrid emulator that `ferry sandbox` starts. */
  readonly sandboxUrl?: string;
}

/**
 * Where `ferry sandbox` (and `pnpm sandbox`) serve the emulators unless told otherwise: Eloqua on
 * 4010, SendGrid on 4011, the sandbox package's own defaults.
 */
export const DEFAULT_SANDBOX_ELOQUA_URL = 'http://127.0.0.1:4010';
export const DEFAULT_SANDBOX_SENDGRID_URL = 'http://127.0.0.1:4011';

/** The Basic credentials the Eloqua emulator accepts (`ferry sandbox` prints them). */
export const SANDBOX_ELOQUA_CREDENTIALS = {
  site: 'FerrySandbox',
  username: 'sandbox.user',
  password: 'sandbox-password',
} as const;

/**
 * The text `ferry init` writes to `ferry.config.ts`: a commented config that reads `contacts.csv`
 * and syncs it to the local SendGrid emulator, so a first `ferry sync` needs no account. Secrets
 * are shown the way they should be given: from the environment.
 */
export const starterConfig = (options: StarterConfigOptions = {}): string => {
  const sandboxUrl = options.sandboxUrl ?? DEFAULT_SANDBOX_SENDGRID_URL;
  return `// Ferry configuration — every key is described in docs/configuration.md.
// Your editor completes and checks this file through defineConfig.
import { defineConfig } from '@ferry/sync-runner';

export default defineConfig({
  // Where the profiles come from. Relative paths are relative to this file.
  source: {
    type: 'csv',
    path: './contacts.csv',
    // A stable id per profile: ferry remembers what each destination confirmed under it.
    idColumn: 'id',
    // Columns that are not plain text are checked and converted; a bad value rejects only its row.
    // columns: { signed_up: 'date', score: 'number', vip: 'boolean' },
  },

  // What ferry remembers between runs (SQLite). This is the default:
  // state: { path: '.ferry/state.db' },

  destinations: {
    sendgrid: {
      plugin: 'sendgrid',
      options: {
        // Secrets come from the environment or from a .env file next to this one (the real
        // environment wins) — never write them here. \${NAME:-fallback} uses the fallback when NAME
        // is unset: SG.sandbox is the key the sandbox accepts.
        apiKey: '\${SENDGRID_API_KEY:-SG.sandbox}',
        // The local emulator started by \`ferry sandbox\`. Set SENDGRID_BASE_URL=https://api.sendgrid.com
        // (or remove this line) to send to SendGrid itself.
        baseUrl: '\${SENDGRID_BASE_URL:-${sandboxUrl}}',
      },
      // What SendGrid knows a contact by: the mapped field \`email\` below.
      identity: 'email',
      // Destination field → source column, or { column, transform, format }, or { constant }.
      fields: {
        email: { column: 'email', transform: ['trim', 'lowercase'] },
        first_name: 'first_name',
        last_name: 'last_name',
        // signed_up: { column: 'signed_up', transform: 'date', format: 'date-only' },
      },
      // Add every profile to these lists (ids from SendGrid):
      // lists: { add: ['<list id>'] },

      // 'mirror' also deletes contacts that left the CSV, stopping if more than
      // mirror.maxDeleteFraction (default 0.1) of them would go.
      // mode: 'mirror',
    },

    // A second destination: Eloqua, through the emulator \`ferry sandbox\` serves on ${DEFAULT_SANDBOX_ELOQUA_URL}.
    // eloqua: {
    //   plugin: 'eloqua',
    //   options: {
    //     loginUrl: '\${ELOQUA_LOGIN_URL:-${DEFAULT_SANDBOX_ELOQUA_URL}}',
    //     auth: {
    //       type: 'basic',
    //       site: '\${ELOQUA_SITE:-${SANDBOX_ELOQUA_CREDENTIALS.site}}',
    //       username: '\${ELOQUA_USERNAME:-${SANDBOX_ELOQUA_CREDENTIALS.username}}',
    //       password: '\${ELOQUA_PASSWORD:-${SANDBOX_ELOQUA_CREDENTIALS.password}}',
    //     },
    //   },
    //   identity: 'C_EmailAddress',
    //   fields: {
    //     C_EmailAddress: { column: 'email', transform: ['trim', 'lowercase'] },
    //     C_FirstName: 'first_name',
    //     C_LastName: 'last_name',
    //   },
    // },
  },
});
`;
};
