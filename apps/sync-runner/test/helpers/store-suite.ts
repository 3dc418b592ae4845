import type { UpsertChange } from '@ferry/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseLostError, type PlannedMember, type StateStore } from '../../src/store/state-store.ts';

/**
 * The StateStore contract, run against every dialect: each test opens a fresh, empty store.
 */
export const describeStateStore = (
  title: string,
  open: () => Promise<{ store: StateStore; dispose: () => Promise<void> }>,
): void => {
  describe(title, () => {
    let store: StateStore;
    let dispose: () => Promise<void>;

    beforeEach(async () => {
      ({ store, dispose } = await open());
      await store.createRun({ id: 'run-1', startedAt: 1000, options: { dryRun: false } });
    });
    afterEach(async () => {
      await store.close();
      await dispose();
    });

    const upsert = (
      id: string,
      fields: Record<string, string | number | boolean | Date | null> = { name: id },
    ): UpsertChange => ({
      kind: 'upsert',
      profileId: id,
      identity: `${id}@example.com`,
      fields,
    });
    const member = (id: string, fingerprint = `fp-${id}`, attempts = 0): PlannedMember => ({
      change: upsert(id),
      fingerprint,
      attempts,
    });
    const plan = (jobId: string, members: PlannedMember[]) =>
      store.planJob({ id: jobId, destination: 'dest', runId: 'run-1', bytes: 100, at: 2000, members });

    it('reports ids already read in the run, and forgets them per run', async () => {
      expect([...(await store.markSeen('run-1', ['a', 'b', 'a']))]).toEqual([]);
      expect([...(await store.markSeen('run-1', ['b', 'c', 'd']))]).toEqual(['b']);
      expect([...(await store.markSeen('run-2', ['b']))]).toEqual([]);
      await store.forgetSeen('run-1');
      expect([...(await store.markSeen('run-1', ['a']))]).toEqual([]);
      expect([...(await store.markSeen('run-2', ['b']))]).toEqual(['b']);
    });

    it('persists a planned job with ordered members and marks them pending', async () => {
      const when = new Date('2024-05-01T10:00:00.000Z');
      const members: PlannedMember[] = [
        { change: upsert('p2', { born: when, n: 3, ok: true, gone: null }), fingerprint: 'f2', attempts: 0 },
        { ...member('p1'), change: { ...upsert('p1'), lists: { add: ['L1'], remove: [] } } },
        {
          change: { kind: 'delete', profileId: 'p3', identity: 'p3@example.com' },
          fingerprint: null,
          attempts: 2,
        },
      ];
      await plan('job-1', members);
      const loaded = await store.jobMembers('job-1');
      expect(loaded).toEqual(members);
      expect(loaded[0]?.change.kind === 'upsert' && loaded[0].change.fields.born).toBeInstanceOf(Date);
      const states = await store.getProfileStates('dest', ['p1', 'p2', 'p3', 'nobody']);
      expect(states.get('p2')).toEqual({
        status: 'pending',
        fingerprint: 'f2',
        confirmedFingerprint: null,
        attempts: 0,
        runId: 'run-1',
      });
      expect(states.get('p3')?.attempts).toBe(2);
      expect(states.has('nobody')).toBe(false);
      const [job] = await store.unfinishedJobs('dest');
      expect(job).toMatchObject({ id: 'job-1', state: 'planned', memberCount: 3, attempt: 0, handle: null });
    });

    it('fills a planned job page by page and reads it back page by page, in order', async () => {
      const ids = Array.from({ length: 2500 }, (_, i) => `p${String(i).padStart(4, '0')}`);
      const members = ids.map((id) => member(id));
      await plan('job-1', members.slice(0, 1000));
      await store.addJobMembers('job-1', { at: 2100, bytes: 50, members: members.slice(1000, 2000) });
      await store.addJobMembers('job-1', { at: 2200, bytes: 25, members: members.slice(2000) });
      const pages: string[][] = [];
      for await (const page of store.jobMemberPages('job-1')) pages.push(page.map((m) => m.change.profileId));
      expect(pages.map((page) => page.length)).toEqual([1000, 1000, 500]);
      expect(pages.flat()).toEqual(ids);
      expect(await store.getJob('job-1')).toMatchObject({ memberCount: 2500, bytes: 175, state: 'planned' });
      expect((await store.getProfileStates('dest', ['p2499'])).get('p2499')?.status).toBe('pending');

      // Rejected at submission: taken out of whichever pages hold them, order kept.
      await store.markSubmitting('job-1', { attempt: 1, callbackTokenHash: null });
      const rejected = ['p0001', 'p1500', 'p2499'].map((id) => ({
        member: member(id),
        status: 'rejected' as const,
        code: 'bad',
        message: 'bad value',
      }));
      await store.markSubmitted('job-1', { handle: { id: 'v' }, at: 3000, nextCheckAt: 4000, rejected });
      const left = (await store.jobMembers('job-1')).map((m) => m.change.profileId);
      expect(left).toEqual(ids.filter((id) => !['p0001', 'p1500', 'p2499'].includes(id)));
      expect((await store.getJob('job-1'))?.memberCount).toBe(2497);
      expect(await store.jobMemberIds('job-1')).toEqual(
        left.map((id) => ({ profileId: id, identity: `${id}@example.com` })),
      );
      // Only a planned job takes members.
      await expect(
        store.addJobMembers('job-1', { at: 5000, bytes: 1, members: [member('late')] }),
      ).rejects.toThrow(/submitted/);
    });

    it('records the handle and drops profiles rejected at submission from the members', async () => {
      await plan('job-1', [member('a'), member('b'), member('c')]);
      await store.markSubmitting('job-1', { attempt: 1, callbackTokenHash: 'hash' });
      expect((await store.getJob('job-1'))?.state).toBe('submitting');
      await store.markSubmitted('job-1', {
        handle: { id: 'vendor-1', n: 2 },
        at: 3000,
        nextCheckAt: 4000,
        rejected: [
          {
            member: member('b'),
            status: 'rejected',
            code: 'bad_email',
            message: 'invalid e-mail',
            field: 'email',
          },
        ],
      });
      const job = await store.getJob('job-1');
      expect(job).toMatchObject({
        state: 'submitted',
        handle: { id: 'vendor-1', n: 2 },
        memberCount: 2,
        attempt: 1,
      });
      expect((await store.jobMembers('job-1')).map((m) => m.change.profileId)).toEqual(['a', 'c']);
      const problems = await store.listProblems({ limit: 10 });
      expect(problems).toMatchObject([
        { profileId: 'b', status: 'rejected', code: 'bad_email', message: 'invalid e-mail', field: 'email' },
      ]);
    });

    it('settles a job: outcomes for some members, the rest confirmed with their fingerprint', async () => {
      await plan('job-1', [member('a', 'fa'), member('b', 'fb'), member('c', 'fc', 1)]);
      await store.markSubmitted('job-1', { handle: { id: 'v' }, at: 3000, nextCheckAt: 3500, rejected: [] });
      await store.settleJob('job-1', {
        at: 5000,
        outcomes: [
          { member: member('a', 'fa'), status: 'rejected', code: 'E1', message: 'too long', field: 'name' },
          {
            member: member('c', 'fc', 1),
            status: 'retry_wait',
            message: 'busy',
            attempts: 2,
            nextAttemptAt: 9000,
          },
        ],
      });
      const states = await store.getProfileStates('dest', ['a', 'b', 'c']);
      expect(states.get('a')).toMatchObject({
        status: 'rejected',
        fingerprint: 'fa',
        confirmedFingerprint: null,
      });
      expect(states.get('b')).toEqual({
        status: 'exported',
        fingerprint: 'fb',
        confirmedFingerprint: 'fb',
        attempts: 0,
        runId: 'run-1',
      });
      expect(states.get('c')).toMatchObject({ status: 'retry_wait', attempts: 2 });
      expect(await store.jobMembers('job-1')).toEqual([]);
      expect((await store.getJob('job-1'))?.state).toBe('settled');
      expect(await store.nextRetryAt('dest')).toBe(9000);
      expect(await store.dueRetries('dest', 8999, 10)).toEqual([]);
      expect(await store.dueRetries('dest', 9000, 10)).toEqual([member('c', 'fc', 2)]);
    });

    it('never lets an older job overwrite a profile re-planned into a newer one', async () => {
      await plan('job-1', [member('a', 'old'), member('b', 'old-b')]);
      await plan('job-2', [member('a', 'new')]);
      await store.settleJob('job-1', {
        at: 5000,
        outcomes: [{ member: member('a', 'old'), status: 'rejected', code: 'E', message: 'stale' }],
      });
      let states = await store.getProfileStates('dest', ['a', 'b']);
      expect(states.get('a')).toMatchObject({
        status: 'pending',
        fingerprint: 'new',
        confirmedFingerprint: null,
      });
      expect(states.get('b')).toMatchObject({ status: 'exported', confirmedFingerprint: 'old-b' });
      await store.settleJob('job-2', { at: 6000, outcomes: [] });
      states = await store.getProfileStates('dest', ['a']);
      expect(states.get('a')).toMatchObject({ status: 'exported', confirmedFingerprint: 'new' });
    });

    it('confirms deletes as deleted and counts mirror candidates', async () => {
      await plan('job-1', [member('a'), member('b'), member('c')]);
      await store.settleJob('job-1', { at: 3000, outcomes: [] });
      expect(await store.countConfirmed('dest')).toEqual({ confirmed: 3, unseen: 0 });
      await store.markSeen('run-1', ['b']);
      expect(await store.countConfirmed('dest', 'run-1')).toEqual({ confirmed: 3, unseen: 2 });
      expect(await store.unseenConfirmed('dest', 'run-1', undefined, 1)).toEqual([
        { profileId: 'a', identity: 'a@example.com' },
      ]);
      expect(await store.unseenConfirmed('dest', 'run-1', 'a', 10)).toEqual([
        { profileId: 'c', identity: 'c@example.com' },
      ]);
      await plan('job-2', [
        {
          change: { kind: 'delete', profileId: 'a', identity: 'a@example.com' },
          fingerprint: null,
          attempts: 0,
        },
      ]);
      // A delete in flight is not planned twice.
      expect(await store.countConfirmed('dest', 'run-1')).toEqual({ confirmed: 3, unseen: 1 });
      await store.settleJob('job-2', { at: 4000, outcomes: [] });
      expect((await store.getProfileStates('dest', ['a'])).get('a')).toMatchObject({
        status: 'deleted',
        confirmedFingerprint: null,
      });
      expect(await store.countConfirmed('dest', 'run-1')).toEqual({ confirmed: 2, unseen: 1 });
    });

    it('fails a whole job, and requeues a vanished one', async () => {
      await plan('job-1', [member('a'), member('b')]);
      await store.markSubmitted('job-1', { handle: { id: 'v' }, at: 3000, nextCheckAt: 3500, rejected: [] });
      await store.requeueJob('job-1');
      expect(await store.getJob('job-1')).toMatchObject({ state: 'planned', handle: null });
      expect(await store.jobMembers('job-1')).toHaveLength(2);
      await store.failJob('job-1', {
        at: 4000,
        code: 'job_failed',
        message: 'the import failed',
        outcomes: [member('a'), member('b')].map((m) => ({
          member: m,
          status: 'rejected' as const,
          code: 'job_failed',
          message: 'the import failed',
        })),
      });
      expect((await store.getJob('job-1'))?.state).toBe('failed');
      expect(await store.unfinishedJobs('dest')).toEqual([]);
      expect((await store.profileCounts('dest')).map((c) => [c.key, c.count])).toEqual([['rejected', 2]]);
      expect((await store.jobCounts('dest')).map((c) => [c.key, c.count])).toEqual([['failed', 1]]);
    });

    it('records direct rejects, pages through problems and requeues them', async () => {
      await store.recordRejects('dest', 'run-1', 2000, [
        {
          profileId: 'x',
          identity: 'x@e',
          fingerprint: 'fx',
          code: 'invalid_value',
          message: 'not a date',
          field: 'born',
        },
        { profileId: 'y', identity: 'y@e', fingerprint: null, code: 'oversized', message: 'too big' },
      ]);
      await store.recordRejects('other', 'run-1', 2000, [
        { profileId: 'x', identity: 'x@e', fingerprint: 'fx', code: 'invalid_value', message: 'nope' },
      ]);
      const first = await store.listProblems({ limit: 2 });
      expect(first.map((p) => [p.destination, p.profileId])).toEqual([
        ['dest', 'x'],
        ['dest', 'y'],
      ]);
      const last = first.at(-1)!;
      const next = await store.listProblems({
        limit: 2,
        after: { destination: last.destination, profileId: last.profileId },
      });
      expect(next.map((p) => [p.destination, p.profileId])).toEqual([['other', 'x']]);
      expect(await store.listProblems({ destination: 'other', limit: 5 })).toHaveLength(1);
      expect(await store.requeueProblems('dest', 3000)).toEqual({ rejected: 2, waiting: 0 });
      expect((await store.getProfileStates('dest', ['x'])).get('x')?.fingerprint).toBeNull();
      expect((await store.getProfileStates('other', ['x'])).get('x')?.fingerprint).toBe('fx');
    });

    it('keeps bad rows per run', async () => {
      await store.addBadRows('run-1', [
        { row: 3, reason: 'expected 4 columns, found 3' },
        { row: 7, profileId: 'p7', reason: 'duplicate id' },
      ]);
      expect(await store.listBadRows('run-1', 0, 10)).toEqual([
        { row: 3, reason: 'expected 4 columns, found 3' },
        { row: 7, profileId: 'p7', reason: 'duplicate id' },
      ]);
      expect(await store.listBadRows('run-1', 3, 10)).toHaveLength(1);
    });

    it('records runs, lists them by status and page, and interrupts the ones named', async () => {
      await store.createRun({ id: 'run-2', startedAt: 2000, options: { full: true } });
      await store.finishRun('run-2', { status: 'completed', finishedAt: 3000, summary: { exported: 5 } });
      await store.createRun({ id: 'run-3', startedAt: 2500, options: {} });
      expect((await store.listRuns(10, { status: 'running' })).map((r) => r.id)).toEqual(['run-3', 'run-1']);
      expect((await store.listRuns(10, { before: 'run-3' })).map((r) => r.id)).toEqual(['run-2', 'run-1']);
      expect(await store.listRuns(10, { before: 'nope' })).toEqual([]);
      // Only runs still running are interrupted, and only those named.
      expect(await store.interruptRuns(['run-1', 'run-2'], 4000)).toBe(1);
      const runs = await store.listRuns(10);
      expect(runs.map((r) => [r.id, r.status])).toEqual([
        ['run-3', 'running'],
        ['run-2', 'completed'],
        ['run-1', 'interrupted'],
      ]);
      expect(await store.getRun('run-2')).toMatchObject({
        options: { full: true },
        summary: { exported: 5 },
        finishedAt: 3000,
      });
    });

    it('keeps the read-ids of running runs when forgetting those of ended ones', async () => {
      await store.createRun({ id: 'run-2', startedAt: 2000, options: {} });
      await store.markSeen('run-1', ['a']);
      await store.markSeen('run-2', ['a']);
      await store.finishRun('run-2', { status: 'completed', finishedAt: 3000, summary: null });
      await store.forgetSeen();
      expect([...(await store.markSeen('run-1', ['a']))]).toEqual(['a']);
      expect([...(await store.markSeen('run-2', ['a']))]).toEqual([]);
    });

    it('saves each run lane and reads them back', async () => {
      await store.saveLane({
        runId: 'run-1',
        destination: 'b',
        state: 'planning',
        counters: { n: 1 },
        updatedAt: 5,
      });
      await store.saveLane({
        runId: 'run-1',
        destination: 'a',
        state: 'planning',
        counters: { n: 2 },
        updatedAt: 5,
      });
      await store.saveLane({
        runId: 'run-1',
        destination: 'b',
        state: 'done',
        counters: { n: 3 },
        updatedAt: 9,
      });
      expect(await store.listLanes('run-1')).toEqual([
        { runId: 'run-1', destination: 'a', state: 'planning', counters: { n: 2 }, updatedAt: 5 },
        { runId: 'run-1', destination: 'b', state: 'done', counters: { n: 3 }, updatedAt: 9 },
      ]);
      expect(await store.listLanes('run-2')).toEqual([]);
    });

    it('hands a lease to one owner at a time, with a growing fencing token', async () => {
      const mine = await store.claimLease({ key: 'lane:a', owner: 'me', at: 1000, ttlMs: 100 });
      expect(mine).toEqual({ key: 'lane:a', owner: 'me', token: 1, acquiredAt: 1000, expiresAt: 1100 });
      expect(await store.claimLease({ key: 'lane:a', owner: 'you', at: 1050, ttlMs: 100 })).toBeUndefined();
      // Another key is another lease.
      expect(await store.claimLease({ key: 'lane:b', owner: 'you', at: 1050, ttlMs: 100 })).toMatchObject({
        token: 1,
      });
      expect(await store.renewLease(mine!, 1090, 100)).toBe(true);
      expect((await store.readLease('lane:a'))?.expiresAt).toBe(1190);
      expect(await store.claimLease({ key: 'lane:a', owner: 'you', at: 1150, ttlMs: 100 })).toBeUndefined();
      // Replacing a holder found dead: only with its current token.
      expect(
        await store.claimLease({ key: 'lane:a', owner: 'you', at: 1150, ttlMs: 100, replacing: 7 }),
      ).toBeUndefined();
      const yours = await store.claimLease({
        key: 'lane:a',
        owner: 'you',
        at: 1150,
        ttlMs: 100,
        replacing: 1,
      });
      expect(yours).toMatchObject({ owner: 'you', token: 2, expiresAt: 1250 });
      // The old holder can neither renew nor release what it lost.
      expect(await store.renewLease(mine!, 1160, 100)).toBe(false);
      await store.releaseLease(mine!);
      expect((await store.readLease('lane:a'))?.owner).toBe('you');
      // lane:b lapsed at 1150.
      expect((await store.listLeases('lane:', 1160)).map((l) => l.key)).toEqual(['lane:a']);
      // Released: free at once, and the next claim's token is still larger.
      await store.releaseLease(yours!);
      expect(await store.listLeases('lane:a', 1160)).toEqual([]);
      expect(await store.claimLease({ key: 'lane:a', owner: 'me', at: 1170, ttlMs: 100 })).toMatchObject({
        token: 3,
      });
      // An expired lease is free too.
      expect(await store.claimLease({ key: 'lane:b', owner: 'me', at: 1150, ttlMs: 100 })).toMatchObject({
        token: 2,
      });
    });

    it('commits a fenced write only under the current, unexpired lease', async () => {
      const now = Date.now();
      const lease = await store.claimLease({ key: 'job:job-1', owner: 'me', at: now, ttlMs: 60_000 });
      await plan('job-1', [member('p1'), member('p2')]);
      await store.markSubmitting('job-1', { attempt: 1, callbackTokenHash: null }, lease!);
      expect((await store.getJob('job-1'))?.state).toBe('submitting');
      // Another process takes the job over (the first was presumed dead): the first cannot commit.
      const taken = await store.claimLease({
        key: 'job:job-1',
        owner: 'you',
        at: now,
        ttlMs: 60_000,
        replacing: 1,
      });
      expect(taken?.token).toBe(2);
      await expect(
        store.markSubmitted(
          'job-1',
          { handle: { id: 'h' }, at: now, nextCheckAt: now + 5, rejected: [] },
          lease!,
        ),
      ).rejects.toBeInstanceOf(LeaseLostError);
      expect(await store.getJob('job-1')).toMatchObject({ state: 'submitting', handle: null });
      await store.markSubmitted(
        'job-1',
        { handle: { id: 'h' }, at: now, nextCheckAt: now + 5, rejected: [] },
        taken!,
      );
      // A lease that expired without anyone taking it over fences too: the store compares times.
      const short = await store.claimLease({ key: 'lane:dest', owner: 'me', at: now - 10_000, ttlMs: 1000 });
      await expect(
        store.planJob(
          { id: 'job-2', destination: 'dest', runId: 'run-1', bytes: 1, at: now, members: [member('p3')] },
          short!,
        ),
      ).rejects.toBeInstanceOf(LeaseLostError);
      expect(await store.getJob('job-2')).toBeUndefined();
      expect((await store.getProfileStates('dest', ['p3'])).has('p3')).toBe(false);
      await expect(
        store.settleJob('job-1', { at: now, outcomes: [] }, { key: 'job:job-1', token: 1 }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      expect(await store.settleJob('job-1', { at: now, outcomes: [] }, taken!)).toEqual({
        exported: 2,
        deleted: 0,
      });
    });

    it('writes large jobs in chunks below the parameter limits', async () => {
      const members = Array.from({ length: 5000 }, (_, i) =>
        member(`p${String(i).padStart(5, '0')}`, `f${i}`),
      );
      await plan('big', members);
      expect(await store.jobMembers('big')).toHaveLength(5000);
      const ids = members.map((m) => m.change.profileId);
      expect([...(await store.markSeen('run-1', ids))]).toEqual([]);
      expect((await store.markSeen('run-1', ids)).size).toBe(5000);
      const rejected = members
        .slice(0, 1200)
        .map((m) => ({ member: m, status: 'rejected' as const, code: 'E', message: 'no' }));
      await store.markSubmitted('big', { handle: { id: 'v' }, at: 3000, nextCheckAt: 3000, rejected });
      expect((await store.getJob('big'))?.memberCount).toBe(3800);
      await store.settleJob('big', { at: 4000, outcomes: [] });
      const counts = Object.fromEntries((await store.profileCounts('dest')).map((c) => [c.key, c.count]));
      expect(counts).toEqual({ exported: 3800, rejected: 1200 });
      expect((await store.getProfileStates('dest', ids)).size).toBe(5000);
    });
  });
};
