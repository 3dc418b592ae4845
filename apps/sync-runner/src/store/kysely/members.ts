import type { JobMember } from '@ferry/core';
import type { Kysely } from 'kysely';
import type { BulkSql } from '../bulk-sql.ts';
import { decodeMemberIds, decodeMembers, encodeMembers } from '../change-codec.ts';
import type { Database } from '../schema.ts';
import type { MembersStore, PlannedMember } from '../state-store.ts';
import { chunk, type Db, num, ROWS_PER_STATEMENT } from './shared.ts';

/*
 * A job's members, stored as pages of up to 1,000 in submission order (see JobMembersTable), and
 * the `pending` marks planning puts on their profiles.
 */

// A planned change makes the profile `pending` in its job; what the destination confirmed stays.
const PLANNED_STATE_ROWS = {
  head:
    'INSERT INTO profile_state (destination, profile_id, identity, status, op, fingerprint, confirmed_fingerprint, ' +
    'job_id, attempts, next_attempt_at, change, error_code, error_message, error_field, run_id, updated_at)',
  perRow: 9,
  row: (p: () => string) =>
    `(${p()}, ${p()}, ${p()}, 'pending', ${p()}, ${p()}, NULL, ${p()}, ${p()}, NULL, NULL, NULL, NULL, NULL, ${p()}, ${p()})`,
  tail:
    'ON CONFLICT (destination, profile_id) DO UPDATE SET identity = excluded.identity, status = excluded.status, ' +
    'op = excluded.op, fingerprint = excluded.fingerprint, job_id = excluded.job_id, attempts = excluded.attempts, ' +
    'next_attempt_at = NULL, change = NULL, error_code = NULL, error_message = NULL, error_field = NULL, ' +
    'run_id = excluded.run_id, updated_at = excluded.updated_at',
};

const MEMBERS_PER_PAGE = 1000;

/** Writes members as pages of `MEMBERS_PER_PAGE`, numbered from `firstPage`. */
export const writeMembers = async (
  db: Db,
  jobId: string,
  members: readonly PlannedMember[],
  firstPage = 0,
): Promise<void> => {
  const pages = [];
  for (let start = 0, page = firstPage; start < members.length; start += MEMBERS_PER_PAGE, page += 1) {
    pages.push({
      job_id: jobId,
      page,
      members: encodeMembers(members.slice(start, start + MEMBERS_PER_PAGE)),
    });
  }
  for (const part of chunk(pages, 100)) await db.insertInto('job_members').values(part).execute();
};

/** Marks members `pending` in the job (multi-row upserts of profile_state). */
export const markPlanned = async (
  db: Db,
  bulk: BulkSql,
  job: { readonly id: string; readonly destination: string; readonly runId: string; readonly at: number },
  members: readonly PlannedMember[],
): Promise<void> => {
  for (let start = 0; start < members.length; start += ROWS_PER_STATEMENT) {
    const stateRows: unknown[] = [];
    const end = Math.min(members.length, start + ROWS_PER_STATEMENT);
    for (let index = start; index < end; index += 1) {
      const { change, fingerprint, attempts } = members[index]!;
      stateRows.push(
        job.destination,
        change.profileId,
        change.identity,
        change.kind,
        fingerprint,
        job.id,
        attempts,
        job.runId,
        job.at,
      );
    }
    await bulk.run(db, bulk.values('plan_state', end - start, PLANNED_STATE_ROWS), stateRows);
  }
};

/** The job's member pages in order as stored text, read one at a time so a large job is never held whole. */
async function* memberPageTexts(
  db: Db,
  jobId: string,
): AsyncGenerator<{ page: number; text: string }, void, undefined> {
  let after = -1;
  for (;;) {
    const row = await db
      .selectFrom('job_members')
      .select(['page', 'members'])
      .where('job_id', '=', jobId)
      .where('page', '>', after)
      .orderBy('page')
      .limit(1)
      .executeTakeFirst();
    if (row === undefined) return;
    after = num(row.page);
    yield { page: after, text: row.members };
  }
}

export async function* memberPages(
  db: Db,
  jobId: string,
): AsyncGenerator<{ page: number; members: PlannedMember[] }, void, undefined> {
  for await (const { page, text } of memberPageTexts(db, jobId)) yield { page, members: decodeMembers(text) };
}

export const readMembers = async (db: Db, jobId: string): Promise<PlannedMember[]> => {
  const members: PlannedMember[] = [];
  for await (const page of memberPages(db, jobId)) members.push(...page.members);
  return members;
};

export const deleteMembers = async (db: Db, jobId: string): Promise<void> => {
  await db.deleteFrom('job_members').where('job_id', '=', jobId).execute();
};

/** Takes `profileIds` (profiles rejected at submission) out of the pages they are in, page by page. */
export const removeMembers = async (
  db: Db,
  jobId: string,
  profileIds: ReadonlySet<string>,
): Promise<void> => {
  let left = profileIds.size;
  for await (const { page, members } of memberPages(db, jobId)) {
    if (left === 0) return;
    const kept = members.filter((member) => !profileIds.has(member.change.profileId));
    if (kept.length === members.length) continue;
    left -= members.length - kept.length;
    await db
      .updateTable('job_members')
      .set({ members: encodeMembers(kept) })
      .where('job_id', '=', jobId)
      .where('page', '=', page)
      .execute();
  }
};

export const kyselyMembers = (db: Kysely<Database>): MembersStore => ({
  jobMembers: (jobId) => readMembers(db, jobId),
  jobMemberPages: async function* pages(jobId) {
    for await (const { members } of memberPages(db, jobId)) yield members;
  },
  jobMemberIds: async (jobId) => {
    // Ids only, page by page: the page texts of a large job are never loaded at once.
    const ids: JobMember[] = [];
    for await (const { text } of memberPageTexts(db, jobId)) {
      for (const member of decodeMemberIds(text)) ids.push(member);
    }
    return ids;
  },
});
