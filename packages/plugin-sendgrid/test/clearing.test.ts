import { createContext, type ProfileChange } from '@ferry/core';
import { membersOf, settleJob } from '@ferry/core/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { sendgrid } from '../src/index.ts';
import { SANDBOX_KEY, type SandboxContact, startSendgridSandbox } from './sandbox-support.ts';
import { upsert } from './support.ts';

/**
 * A value the source cleared ends cleared at SendGrid, whichever path the job takes. The sandbox
 * models an empty CSV cell as SendGrid's own UI import is understood to treat it (it leaves the
 * field as it is; docs/sendgrid.md), so a CSV import cannot clear: those contacts must go as JSON.
 */

const sandbox = await startSendgridSandbox();
afterAll(() => sandbox.close());
beforeEach(() => sandbox.reset());

const contextFor = (options: Record<string, unknown>) =>
  createContext(sendgrid, {
    options: { apiKey: SANDBOX_KEY, baseUrl: sandbox.url, ...options },
    httpOverrides: { baseBackoffMs: 5, maxBackoffMs: 50 },
  });

const FILLED = { first_name: 'x', city: 'Bern', notes: 'x', alternate_emails: 'alt@example.org' };

/** Every contact the sandbox holds, by e-mail (paged: the view returns at most 10,000 at once). */
const allContacts = async (): Promise<Map<string, SandboxContact>> => {
  const byEmail = new Map<string, SandboxContact>();
  for (let offset = 0; ; offset += 10_000) {
    const page = await sandbox.get<{ total: number; contacts: SandboxContact[] }>(
      `/__sandbox/contacts?offset=${offset}&limit=10000`,
    );
    for (const contact of page.contacts) byEmail.set(contact.email, contact);
    if (offset + 10_000 >= page.total) return byEmail;
  }
};

const expectCleared = (contact: SandboxContact | undefined) => {
  expect(contact).toBeDefined();
  expect(contact?.first_name ?? '').toBe('');
  expect(contact?.custom_fields.notes ?? '').toBe('');
  expect(contact?.alternate_emails ?? []).toEqual([]);
  // What was not cleared stays.
  expect(contact?.city).toBe('Bern');
};

const paths: [string, Record<string, unknown>][] = [
  ['csv (gzip)', { submission: 'csv' }],
  ['csv (plain)', { submission: 'csv', csv: { gzip: false } }],
  ['json', { submission: 'json' }],
  ['auto', {}],
];

describe.each(paths)('a cleared value ends cleared: %s', (_name, options) => {
  it('null and empty text, and an emptied alternate_emails', async () => {
    const ctx = contextFor(options);
    await settleJob(sendgrid, ctx, [upsert(1, FILLED), upsert(2, FILLED), upsert(3, FILLED)]);
    expect((await sandbox.contact('user1@example.com'))?.first_name).toBe('x');
    const settled = await settleJob(sendgrid, ctx, [
      upsert(1, { ...FILLED, first_name: null, notes: null, alternate_emails: null }),
      upsert(2, { ...FILLED, first_name: '', notes: '', alternate_emails: '' }),
      // Not clearing anything: may go in the CSV import.
      upsert(3, { ...FILLED, first_name: 'y' }),
    ]);
    expect(settled.rejected).toEqual([]);
    expect(settled.outcomes).toEqual([]);
    expectCleared(await sandbox.contact('user1@example.com'));
    expectCleared(await sandbox.contact('user2@example.com'));
    expect(await sandbox.contact('user3@example.com')).toMatchObject({
      first_name: 'y',
      custom_fields: { notes: 'x' },
    });
  });
});

describe('contacts that clear are sent after the CSV import', () => {
  it('so that a handle full of JSON bodies defers them, never the import', async () => {
    // One contact per JSON body: 85 that clear and 1 that does not make 1 import + 85 bodies, more
    // SendGrid jobs than a handle holds (80). The one for the import comes last in the batch.
    const ctx = contextFor({ submission: 'csv', json: { maxProfilesPerJob: 1 } });
    const size = 86;
    await settleJob(
      sendgrid,
      ctx,
      Array.from({ length: size }, (_, n) => upsert(n, FILLED)),
    );
    const second = Array.from({ length: size }, (_, n) =>
      n === size - 1
        ? upsert(n, { ...FILLED, first_name: 'kept' })
        : upsert(n, { ...FILLED, first_name: null }),
    );
    const { job, rejected } = await sendgrid.exportProfiles(ctx, second);
    // 80 jobs: the import, then 79 bodies; the last 6 that clear are deferred, never the import.
    expect(rejected.map((outcome) => [outcome.profileId, outcome.status, outcome.code])).toEqual(
      Array.from({ length: 6 }, (_, k) => [`p${79 + k}`, 'retryable', 'deferred']),
    );
    if (job === null) throw new Error('expected a job');
    expect(await sendgrid.checkStatus(ctx, job, membersOf(second, rejected))).toMatchObject({
      state: 'completed',
      outcomes: [],
    });
    const settled = await settleJob(sendgrid, ctx, second.slice(79, 85));
    expect(settled.rejected).toEqual([]);
    expect((await sandbox.contact(`user${size - 1}@example.com`))?.first_name).toBe('kept');
    for (const n of [0, 78, 79, 84]) {
      expect((await sandbox.contact(`user${n}@example.com`))?.first_name ?? '').toBe('');
    }
  });
});

const clearing = { ...FILLED, first_name: null, notes: null, alternate_emails: null };

/** Loads `size` filled profiles, then sends them again, those `clears(n)` picks clearing fields. */
const loadThenClear = async (size: number, clears: (n: number) => boolean) => {
  const ctx = contextFor({});
  const first: ProfileChange[] = Array.from({ length: size }, (_, n) => upsert(n, FILLED));
  const loaded = await settleJob(sendgrid, ctx, first);
  expect(loaded.jobs[0]).toMatchObject({ path: 'csv' });
  const second: ProfileChange[] = Array.from({ length: size }, (_, n) =>
    clears(n) ? upsert(n, clearing) : upsert(n, { ...FILLED, first_name: `y${n}` }),
  );
  const settled = await settleJob(sendgrid, ctx, second);
  expect(settled.rejected).toEqual([]);
  expect(settled.outcomes).toEqual([]);
  const held = await allContacts();
  expect(held.size).toBe(size);
  let cleared = 0;
  for (let n = 0; n < size; n += 1) {
    const contact = held.get(`user${n}@example.com`);
    if (clears(n)) {
      expectCleared(contact);
      cleared += 1;
    } else {
      expect(contact?.first_name).toBe(`y${n}`);
      expect(contact?.custom_fields.notes).toBe('x');
    }
  }
  return { settled, cleared };
};

describe('auto with more profiles than one JSON request holds', () => {
  it('30,001, every third clearing: all of it clears or changes', { timeout: 120_000 }, async () => {
    const { cleared } = await loadThenClear(30_001, (n) => n % 3 === 0);
    expect(cleared).toBe(10_001);
  });

  it('30,101, 100 clearing: a CSV import for 30,001, JSON for the 100', { timeout: 120_000 }, async () => {
    const { settled, cleared } = await loadThenClear(30_101, (n) => n < 100);
    expect(cleared).toBe(100);
    expect(settled.jobs[0]).toMatchObject({ path: 'mixed' });
    expect((await sandbox.stats()).requests).toMatchObject({ 'sendgrid.upsert': 1 });
  });
});
