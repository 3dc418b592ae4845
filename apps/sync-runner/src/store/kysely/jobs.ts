import type { Kysely } from 'kysely';
import type { BulkSql } from '../bulk-sql.ts';
import type { Database } from '../schema.ts';
import type { JobsStore } from '../state-store.ts';
import { deleteMembers, markPlanned, removeMembers, writeMembers } from './members.ts';
import { applyOutcomes, CLEARED_ERROR, fenced, jobRow, num, toJob } from './shared.ts';

/*
 * A job's life: planned (with its members), submitting, submitted, settled or failed. Every write
 * takes the lease of whoever drives the job as a fence (see shared.ts): a step that lost its lease
 * commits nothing. Writes that carry no time of their own check the lease against the wall clock,
 * which is what lease expiry times are made of.
 */

export const kyselyJobs = (db: Kysely<Database>, bulk: BulkSql): JobsStore => ({
  planJob: async (job, fence) => {
    await fenced(db, fence, job.at, async (trx) => {
      await trx
        .insertInto('jobs')
        .values({
          id: job.id,
          destination: job.destination,
          run_id: job.runId,
          state: 'planned',
          attempt: 0,
          member_count: job.members.length,
          bytes: job.bytes,
          handle: null,
          callback_token_hash: null,
          planned_at: job.at,
          submitted_at: null,
          settled_at: null,
          next_check_at: null,
          check_count: 0,
          rejected_count: 0,
          error_code: null,
          error_message: null,
        })
        .execute();
      await writeMembers(trx, job.id, job.members);
      await markPlanned(trx, bulk, job, job.members);
    });
  },
  addJobMembers: async (jobId, part, fence) => {
    await fenced(db, fence, part.at, async (trx) => {
      const job = await jobRow(trx, jobId);
      if (job.state !== 'planned') {
        throw new Error(
          `[ferry] state store: job ${jobId} is ${job.state}; members can only join a planned job`,
        );
      }
      const last = await trx
        .selectFrom('job_members')
        .select((eb) => eb.fn.max('page').as('page'))
        .where('job_id', '=', jobId)
        .executeTakeFirst();
      const firstPage = last?.page === null || last?.page === undefined ? 0 : num(last.page) + 1;
      await writeMembers(trx, jobId, part.members, firstPage);
      await markPlanned(
        trx,
        bulk,
        { id: jobId, destination: job.destination, runId: job.run_id, at: part.at },
        part.members,
      );
      await trx
        .updateTable('jobs')
        .set({
          member_count: num(job.member_count) + part.members.length,
          bytes: num(job.bytes) + part.bytes,
        })
        .where('id', '=', jobId)
        .execute();
    });
  },
  markSubmitting: async (jobId, { attempt, callbackTokenHash }, fence) => {
    await fenced(db, fence, Date.now(), async (trx) => {
      await trx
        .updateTable('jobs')
        .set({ state: 'submitting', attempt, callback_token_hash: callbackTokenHash })
        .where('id', '=', jobId)
        .execute();
    });
  },
  markSubmitted: async (jobId, result, fence) => {
    await fenced(db, fence, result.at, async (trx) => {
      const job = await jobRow(trx, jobId);
      const rejected = result.rejected.length;
      const settled = result.handle === null;
      if (rejected > 0) {
        await applyOutcomes(trx, job.destination, jobId, job.run_id, result.rejected, result.at);
      }
      if (rejected > 0 && !settled) {
        await removeMembers(
          trx,
          jobId,
          new Set(result.rejected.map((outcome) => outcome.member.change.profileId)),
        );
      }
      if (settled) await deleteMembers(trx, jobId);
      await trx
        .updateTable('jobs')
        .set({
          state: settled ? 'settled' : 'submitted',
          handle: settled ? null : JSON.stringify(result.handle),
          submitted_at: result.at,
          settled_at: settled ? result.at : null,
          next_check_at: result.nextCheckAt,
          member_count: num(job.member_count) - rejected,
          rejected_count: num(job.rejected_count) + rejected,
        })
        .where('id', '=', jobId)
        .execute();
    });
  },
  recordCheck: async (jobId, check, fence) => {
    await fenced(db, fence, Date.now(), async (trx) => {
      await trx
        .updateTable('jobs')
        .set({ next_check_at: check.nextCheckAt, check_count: check.checkCount })
        .where('id', '=', jobId)
        .execute();
    });
  },
  settleJob: async (jobId, settle, fence) =>
    fenced(db, fence, settle.at, async (trx) => {
      const job = await jobRow(trx, jobId);
      await applyOutcomes(trx, job.destination, jobId, job.run_id, settle.outcomes, settle.at);
      const base = {
        job_id: null,
        attempts: 0,
        next_attempt_at: null,
        change: null,
        ...CLEARED_ERROR,
        updated_at: settle.at,
      };
      const exported = await trx
        .updateTable('profile_state')
        .set((eb) => ({ ...base, status: 'exported', confirmed_fingerprint: eb.ref('fingerprint') }))
        .where('destination', '=', job.destination)
        .where('job_id', '=', jobId)
        .where('op', '=', 'upsert')
        .executeTakeFirst();
      const deleted = await trx
        .updateTable('profile_state')
        .set({ ...base, status: 'deleted', confirmed_fingerprint: null })
        .where('destination', '=', job.destination)
        .where('job_id', '=', jobId)
        .where('op', '=', 'delete')
        .executeTakeFirst();
      await deleteMembers(trx, jobId);
      const rejected = settle.outcomes.filter((outcome) => outcome.status === 'rejected').length;
      await trx
        .updateTable('jobs')
        .set({
          state: 'settled',
          settled_at: settle.at,
          next_check_at: null,
          rejected_count: num(job.rejected_count) + rejected,
        })
        .where('id', '=', jobId)
        .execute();
      return { exported: num(exported.numUpdatedRows), deleted: num(deleted.numUpdatedRows) };
    }),
  failJob: async (jobId, fail, fence) => {
    await fenced(db, fence, fail.at, async (trx) => {
      const job = await jobRow(trx, jobId);
      await applyOutcomes(trx, job.destination, jobId, job.run_id, fail.outcomes, fail.at);
      await deleteMembers(trx, jobId);
      await trx
        .updateTable('jobs')
        .set({
          state: 'failed',
          settled_at: fail.at,
          next_check_at: null,
          error_code: fail.code,
          error_message: fail.message,
        })
        .where('id', '=', jobId)
        .execute();
    });
  },
  requeueJob: async (jobId, fence) => {
    await fenced(db, fence, Date.now(), (trx) =>
      trx
        .updateTable('jobs')
        .set({
          state: 'planned',
          handle: null,
          next_check_at: null,
          check_count: 0,
          callback_token_hash: null,
        })
        .where('id', '=', jobId)
        .execute(),
    );
  },
  unfinishedJobs: async (destination) => {
    const rows = await db
      .selectFrom('jobs')
      .selectAll()
      .where('destination', '=', destination)
      .where('state', 'in', ['planned', 'submitting', 'submitted'])
      .orderBy('planned_at')
      .orderBy('id')
      .execute();
    return rows.map(toJob);
  },
  getJob: async (jobId) => {
    const row = await db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
    return row === undefined ? undefined : toJob(row);
  },
});
