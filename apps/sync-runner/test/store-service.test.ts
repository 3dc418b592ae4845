import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSession, csrfMatches, csrfTokenOf, findSession } from '../src/service/sessions.ts';
import { authenticate, createToken, hashToken } from '../src/service/tokens.ts';
import { openStateStore } from '../src/store/open-store.ts';
import type { StateStore } from '../src/store/state-store.ts';
import { dropSchema, postgresUrl, probePostgres, uniqueSchema } from './helpers/postgres.ts';

/*
 * The service's part of the state store (tokens, Idempotency-Key claims, webhooks, dashboard
 * sessions, the profile read model) on SQLite and PostgreSQL.
 */

const postgres = await probePostgres();

const suite = (title: string, open: () => Promise<{ store: StateStore; dispose: () => Promise<void> }>) =>
  describe(title, () => {
    let store: StateStore;
    let dispose: () => Promise<void>;
    beforeEach(async () => {
      ({ store, dispose } = await open());
    });
    afterEach(async () => {
      await store.close();
      await dispose();
    });

    it('keeps only the hash of a token, finds it by the token, and forgets it once revoked', async () => {
      const { token, record } = await createToken(store, { scope: 'write', name: 'ci', now: 1000 });
      expect(token).toMatch(/^ferry_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      expect(await authenticate(store, token)).toEqual(record);
      expect(await authenticate(store, `${token}x`)).toBeUndefined();
      expect(await authenticate(store, 'not-a-token')).toBeUndefined();
      expect(await store.findToken(token)).toBeUndefined(); // looked up by hash only
      expect(await store.findToken(hashToken(token))).toEqual(record);
      expect(await store.listTokens()).toEqual([record]);
      expect(await store.revokeToken(record.id, 2000)).toBe(true);
      expect(await store.revokeToken(record.id, 3000)).toBe(false);
      expect(await authenticate(store, token)).toBeUndefined();
      expect(await store.listTokens()).toEqual([{ ...record, revokedAt: 2000 }]);
    });

    it('keeps a session by its hash until it expires, is signed out, or its token is revoked', async () => {
      const { record } = await createToken(store, { scope: 'read', name: 'ui', now: 1000 });
      const { id, session } = await createSession(store, record, { now: 10_000, ttlMs: 5000 });
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(session).toEqual({ tokenId: record.id, createdAt: 10_000, expiresAt: 15_000 });
      expect(await store.findSession(id, 11_000)).toBeUndefined(); // looked up by hash only
      expect(await findSession(store, id, 11_000)).toEqual({ session, token: record });
      expect(await findSession(store, id, 15_000)).toBeUndefined(); // expired
      expect(await findSession(store, '', 11_000)).toBeUndefined();
      // CSRF: derived from the session id, compared without leaking it.
      expect(csrfMatches(id, csrfTokenOf(id))).toBe(true);
      expect(csrfMatches(id, csrfTokenOf(`${id}x`))).toBe(false);
      expect(csrfMatches(id, undefined)).toBe(false);

      // A new session sweeps the expired ones; signing out deletes; revoking the token ends the rest.
      const second = await createSession(store, record, { now: 20_000, ttlMs: 5000 });
      const third = await createSession(store, record, { now: 20_000, ttlMs: 5000 });
      expect(await findSession(store, second.id, 21_000)).toBeDefined();
      await store.deleteSession(hashToken(second.id));
      expect(await findSession(store, second.id, 21_000)).toBeUndefined();
      expect(await findSession(store, third.id, 21_000)).toBeDefined();
      await store.revokeToken(record.id, 21_500);
      expect(await findSession(store, third.id, 22_000)).toBeUndefined();
    });

    it("reads one profile's state per destination and its bad rows across runs, newest run first", async () => {
      await store.createRun({ id: 'r1', startedAt: 1000, options: {} });
      await store.createRun({ id: 'r2', startedAt: 2000, options: {} });
      await store.addBadRows('r1', [{ row: 7, profileId: 'p1', reason: 'lifetime_value: not a number' }]);
      await store.addBadRows('r2', [
        { row: 3, profileId: 'p1', reason: 'duplicate id' },
        { row: 4, profileId: 'p2', reason: 'duplicate id' },
      ]);
      await store.recordRejects('sendgrid', 'r2', 2500, [
        {
          profileId: 'p1',
          identity: 'bad@',
          fingerprint: 'f1',
          code: 'invalid_email',
          message: 'not an e-mail',
          field: 'email',
        },
      ]);
      const record = await store.profileRecord('p1', ['eloqua', 'sendgrid']);
      expect(record.states).toEqual([
        expect.objectContaining({
          destination: 'sendgrid',
          identity: 'bad@',
          status: 'rejected',
          code: 'invalid_email',
          field: 'email',
          message: 'not an e-mail',
          runId: 'r2',
          updatedAt: 2500,
        }),
      ]);
      expect(record.badRows).toEqual([
        { runId: 'r2', row: 3, profileId: 'p1', reason: 'duplicate id' },
        { runId: 'r1', row: 7, profileId: 'p1', reason: 'lifetime_value: not a number' },
      ]);
      expect(await store.profileRecord('nobody', ['eloqua', 'sendgrid'])).toEqual({
        states: [],
        badRows: [],
      });
    });

    it('keeps webhook endpoints of every origin: config ones synced, per-run ones, event filters, redelivery', async () => {
      await store.createWebhookEndpoint({
        id: 'we_api',
        url: 'http://a/',
        secret: 'whsec_x',
        createdAt: 100,
      });
      await store.syncConfigEndpoints(
        [
          { id: 'wc_all', url: 'http://c/all', events: null },
          { id: 'wc_failed', url: 'http://c/failed', events: ['run.failed'] },
        ],
        100,
      );
      await store.ensureRunEndpoint({ id: 'wr_r1', runId: 'r1', url: 'http://cb/', createdAt: 50 });
      await store.ensureRunEndpoint({ id: 'wr_r1', runId: 'r1', url: 'http://other/', createdAt: 60 });
      await store.ensureRunEndpoint({ id: 'wr_r2', runId: 'r2', url: 'http://cb2/', createdAt: 50 });
      // Per-run endpoints are not listed; config ones are, without a secret.
      expect((await store.listWebhookEndpoints()).map((e) => [e.id, e.kind, e.events])).toEqual([
        ['wc_all', 'config', null],
        ['wc_failed', 'config', ['run.failed']],
        ['we_api', 'api', null],
      ]);
      let n = 0;
      const enqueue = (runId: string, type: string) =>
        store.enqueueDeliveries({
          runId,
          type,
          endedAt: 200,
          at: 300,
          payload: '{}',
          newId: () => `msg_${n++}`,
        });
      expect(await enqueue('r1', 'run.completed')).toBe(3); // api, config (all), r1's own callback
      expect(await enqueue('r1', 'run.completed')).toBe(0);
      const due = await store.dueDeliveries(300, 10);
      expect(due.map((d) => [d.endpointId, d.endpointKind, 'secret' in d ? d.secret : null]).sort()).toEqual([
        ['wc_all', 'config', null],
        ['we_api', 'api', 'whsec_x'],
        ['wr_r1', 'run', null],
      ]);
      expect(due.find((d) => d.endpointId === 'wr_r1')?.url).toBe('http://cb/');
      expect(await enqueue('r3', 'run.failed')).toBe(3); // api, both config ones; r1's callback is not r3's

      const [first] = await store.listDeliveries('r1');
      await store.recordDeliveryAttempt(
        first!.id,
        { at: 310, status: 204, error: null },
        { state: 'delivered', next: null },
      );
      expect(await store.redeliver('r1', first!.id, 400)).toEqual({ redelivered: [first!.id], skipped: [] });
      expect((await store.listDeliveries('r1')).find((d) => d.id === first!.id)).toMatchObject({
        state: 'pending',
        nextAttemptAt: 400,
        attemptsBase: 1,
      });
      await store.disableWebhookEndpoint(first!.endpointId, 410, 'the endpoint answered 410 Gone');
      const again = await store.redeliver('r1', undefined, 500);
      expect(again.redelivered).toHaveLength(2);
      expect(again.skipped).toEqual([
        { id: first!.id, reason: 'the endpoint is disabled: the endpoint answered 410 Gone' },
      ]);

      // Leaving the config disables; coming back enables again.
      await store.syncConfigEndpoints([{ id: 'wc_failed', url: 'http://c/failed', events: null }], 600);
      const synced = await store.listWebhookEndpoints();
      expect(synced.find((e) => e.id === 'wc_all')).toMatchObject({
        disabledAt: 600,
        disabledReason: 'removed from the config',
      });
      expect(synced.find((e) => e.id === 'wc_failed')).toMatchObject({ disabledAt: null, events: null });
      await store.syncConfigEndpoints([{ id: 'wc_all', url: 'http://c/all', events: null }], 700);
      expect((await store.listWebhookEndpoints()).find((e) => e.id === 'wc_all')?.disabledAt).toBeNull();
      // Only API endpoints can be deleted.
      expect(await store.deleteWebhookEndpoint('wc_all')).toBe(false);
      expect(await store.deleteWebhookEndpoint('we_api')).toBe(true);

      expect(await store.getServiceSecret('callback-signing')).toBeUndefined();
      await store.setServiceSecret('callback-signing', 'whsec_one', 800);
      await store.setServiceSecret('callback-signing', 'whsec_two', 900);
      expect(await store.getServiceSecret('callback-signing')).toEqual({
        value: 'whsec_two',
        createdAt: 900,
      });
    });

    it('claims an Idempotency-Key once per token, replays its response, and drops it after the window', async () => {
      const claim = { tokenId: 't1', key: 'k', fingerprint: 'f1', at: 1000, since: 0 };
      expect(await store.claimIdempotencyKey(claim)).toEqual({ kind: 'claimed' });
      expect(await store.claimIdempotencyKey({ ...claim, fingerprint: 'f2' })).toEqual({
        kind: 'existing',
        fingerprint: 'f1',
        claimedAt: 1000,
      });
      // An unanswered claim is taken over once, and only when older than asked.
      expect(
        await store.takeOverIdempotencyKey({ tokenId: 't1', key: 'k', at: 1500, claimedBefore: 1000 }),
      ).toBe(false);
      expect(
        await store.takeOverIdempotencyKey({ tokenId: 't1', key: 'k', at: 1500, claimedBefore: 1200 }),
      ).toBe(true);
      expect(
        await store.takeOverIdempotencyKey({ tokenId: 't1', key: 'k', at: 1600, claimedBefore: 1200 }),
      ).toBe(false);
      // Another token's key of the same name is another key.
      expect(await store.claimIdempotencyKey({ ...claim, tokenId: 't2' })).toEqual({ kind: 'claimed' });
      const response = { status: 202, headers: { location: '/v1/runs/r' }, body: { id: 'r' } };
      await store.saveIdempotentResponse('t1', 'k', response);
      expect(await store.claimIdempotencyKey(claim)).toEqual({
        kind: 'existing',
        fingerprint: 'f1',
        claimedAt: 1500,
        response,
      });
      // An answered claim is never taken over.
      expect(
        await store.takeOverIdempotencyKey({ tokenId: 't1', key: 'k', at: 1700, claimedBefore: 9999 }),
      ).toBe(false);
      // Past the window the old claim is dropped and the key is free again.
      expect(await store.claimIdempotencyKey({ ...claim, fingerprint: 'f3', at: 5000, since: 2000 })).toEqual(
        {
          kind: 'claimed',
        },
      );
      await store.releaseIdempotencyKey('t1', 'k');
      expect(await store.claimIdempotencyKey({ ...claim, at: 6000, since: 2000 })).toEqual({
        kind: 'claimed',
      });
    });
  });

suite('service store on SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-service-store-'));
  const store = await openStateStore({ location: join(dir, 'state.db') });
  return { store, dispose: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe.skipIf(!postgres.available)('PostgreSQL', () => {
  it('migrates a store in a fresh schema while another schema of the database has Ferry tables', async () => {
    const [first, second] = [uniqueSchema('ferry_migrate_a'), uniqueSchema('ferry_migrate_b')];
    try {
      const a = await openStateStore({ location: postgresUrl, schema: first });
      await a.close();
      // Kysely used to take schema A's migration tables for B's and then fail to migrate B.
      const b = await openStateStore({ location: postgresUrl, schema: second });
      expect(await b.listTokens()).toEqual([]);
      await b.close();
    } finally {
      await dropSchema(first);
      await dropSchema(second);
    }
  });

  suite('service store on PostgreSQL', async () => {
    const schema = uniqueSchema('ferry_service');
    const store = await openStateStore({ location: postgresUrl, schema });
    return { store, dispose: () => dropSchema(schema) };
  });
});
