import { type FaultRule, type RunningSandbox, startSandbox } from '@ferry/sandbox';

/*
 * The sandbox lives in the harness process, so it survives every kill of the runner. Credentials
 * are made up for the harness; the secrets check looks for them (raw, base64, URL-encoded)
 * everywhere the runner could have written them.
 */

export const SENDGRID_API_KEY = 'SG.reliab1lity-K3y/x+Q=9zT_fVb8wL2mN!pR7uY4';
export const ELOQUA_SITE = 'FerryReliability';
export const ELOQUA_USER = 'harness.user';
export const ELOQUA_PASSWORD = 'Rel!ab1l1ty/pa$$+w0rd=Zq8 x';

export const SECRETS = [SENDGRID_API_KEY, ELOQUA_PASSWORD] as const;

export interface SandboxSettings {
  readonly startDelayMs: number;
  readonly recordsPerSecond: number;
  readonly seed: number;
  readonly faults?: readonly FaultRule[];
}

export const startHarnessSandbox = (settings: SandboxSettings): Promise<RunningSandbox> =>
  startSandbox({
    startDelayMs: settings.startDelayMs,
    recordsPerSecond: settings.recordsPerSecond,
    seed: settings.seed,
    faults: settings.faults ?? [],
    eloqua: { siteName: ELOQUA_SITE, username: ELOQUA_USER, password: ELOQUA_PASSWORD },
    // The injected 429s are the rate limits under test; the emulator's own budget would add noise.
    sendgrid: { apiKey: SENDGRID_API_KEY, rateLimit: false },
  });

export const getJson = async <T>(url: string): Promise<T> => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
};

export interface SendgridContact {
  readonly email: string;
  readonly first_name: string;
  readonly last_name: string;
  readonly city: string;
  readonly country: string;
  readonly [key: string]: unknown;
}

export interface EloquaContact {
  readonly emailAddress: string;
  readonly fields: Record<string, string>;
}

const PAGE = 10_000;

export const sendgridContacts = async (url: string): Promise<SendgridContact[]> => {
  const all: SendgridContact[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await getJson<{ total: number; contacts: SendgridContact[] }>(
      `${url}/__sandbox/contacts?offset=${offset}&limit=${PAGE}`,
    );
    all.push(...page.contacts);
    if (offset + PAGE >= page.total) return all;
  }
};

export const eloquaContacts = async (url: string): Promise<EloquaContact[]> => {
  const all: EloquaContact[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await getJson<{ total: number; items: EloquaContact[] }>(
      `${url}/__sandbox/contacts?offset=${offset}&limit=${PAGE}`,
    );
    all.push(...page.items);
    if (offset + PAGE >= page.total) return all;
  }
};

export interface VendorStats {
  readonly requests: Record<string, number>;
  readonly total: number;
  readonly faultsFired: Record<string, number>;
}

export const stats = (url: string): Promise<VendorStats> => getJson<VendorStats>(`${url}/__sandbox/stats`);

/**
 * Profiles the vendor actually received in jobs it ran (vanished jobs excluded: they were never
 * applied): the sum over SendGrid upsert/import jobs of `requested_count`, over Eloqua syncs of
 * their record count. Compared with the minimum, the excess is what was sent more than once.
 */
export const sendgridRecordsReceived = async (url: string): Promise<number> => {
  const { jobs } = await getJson<{
    jobs: { kind: string; status: string; results?: { requested_count?: number } }[];
  }>(`${url}/__sandbox/jobs`);
  return jobs
    .filter((job) => job.kind === 'upsert' || job.kind === 'import')
    .reduce((sum, job) => sum + (job.results?.requested_count ?? 0), 0);
};

export const eloquaRecordsReceived = async (url: string): Promise<number> => {
  const { syncs } = await getJson<{ syncs: { status: string; recordCount?: number }[] }>(
    `${url}/__sandbox/syncs`,
  );
  return syncs.reduce((sum, sync) => sum + (sync.recordCount ?? 0), 0);
};

/** Sums `faultsFired` (`endpoint kind` → count) by kind. */
export const faultsByKind = (fired: Record<string, number>): Record<string, number> => {
  const byKind: Record<string, number> = {};
  for (const [key, count] of Object.entries(fired)) {
    const kind = key.split(' ').at(-1) ?? key;
    byKind[kind] = (byKind[kind] ?? 0) + count;
  }
  return byKind;
};
