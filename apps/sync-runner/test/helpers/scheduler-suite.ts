import { afterEach, describe, expect, it } from 'vitest';
import type { Scheduler, Step } from '../../src/engine/scheduler/scheduler.ts';

/**
 * The Scheduler contract, written once: the in-process scheduler runs it, and so must any other
 * (pg-boss). Times are real and short; each test says what it waits for.
 */
export const describeScheduler = (title: string, open: () => Promise<Scheduler> | Scheduler): void => {
  describe(title, () => {
    let scheduler: Scheduler | undefined;
    afterEach(async () => {
      await scheduler?.close();
      scheduler = undefined;
    });

    const step = (id: string, kind: Step['kind'] = 'check', group = 'dest'): Step => ({ kind, id, group });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    /** Starts the scheduler with a handler that records when each step ran. */
    const started = async (
      options: { concurrency?: number; handler?: (step: Step) => Promise<void> } = {},
    ) => {
      scheduler = await open();
      const ran: { id: string; kind: string; at: number }[] = [];
      const errors: unknown[] = [];
      scheduler.start({
        handler: async (s) => {
          ran.push({ id: s.id, kind: s.kind, at: Date.now() });
          await options.handler?.(s);
        },
        concurrency: () => options.concurrency ?? 4,
        onError: (_s, error) => errors.push(error),
      });
      return { scheduler, ran, errors };
    };

    it('runs a step at its time, not before', async () => {
      const { scheduler, ran } = await started();
      const at = Date.now() + 120;
      await scheduler.schedule(step('j1'), at);
      await sleep(60);
      expect(ran).toEqual([]);
      expect(scheduler.pending()).toBe(1);
      await sleep(200);
      expect(ran.map((r) => r.id)).toEqual(['j1']);
      expect(ran[0]!.at).toBeGreaterThanOrEqual(at - 5);
      expect(scheduler.pending()).toBe(0);
    });

    it('runs a step due now (or in the past) as soon as possible', async () => {
      const { scheduler, ran } = await started();
      await scheduler.schedule(step('j1'), Date.now() - 1000);
      await sleep(30);
      expect(ran.map((r) => r.id)).toEqual(['j1']);
    });

    it('keeps one pending step per kind and id: scheduling again moves it', async () => {
      const { scheduler, ran } = await started();
      await scheduler.schedule(step('j1'), Date.now() + 40);
      await scheduler.schedule(step('j1'), Date.now() + 150);
      await scheduler.schedule(step('j1', 'submit'), Date.now() + 40);
      await sleep(90);
      expect(ran.map((r) => `${r.kind}:${r.id}`)).toEqual(['submit:j1']);
      await sleep(150);
      expect(ran.map((r) => `${r.kind}:${r.id}`)).toEqual(['submit:j1', 'check:j1']);
    });

    it('wakes a pending step now, and ignores a wake for nothing pending', async () => {
      const { scheduler, ran } = await started();
      await scheduler.schedule(step('j1'), Date.now() + 60_000);
      scheduler.wake('check', 'j1');
      scheduler.wake('check', 'nobody');
      await sleep(30);
      expect(ran.map((r) => r.id)).toEqual(['j1']);
      expect(scheduler.pending()).toBe(0);
    });

    it('cancels a pending step', async () => {
      const { scheduler, ran } = await started();
      await scheduler.schedule(step('j1'), Date.now() + 30);
      await scheduler.schedule(step('j2'), Date.now() + 30);
      scheduler.cancel('check', 'j1');
      await sleep(90);
      expect(ran.map((r) => r.id)).toEqual(['j2']);
    });

    it('runs a step scheduled again while it runs once more, after it ended — never twice at once', async () => {
      let running = 0;
      let most = 0;
      let runs = 0;
      const { scheduler } = await started({
        handler: async (s) => {
          running += 1;
          most = Math.max(most, running);
          runs += 1;
          if (runs === 1) await scheduler!.schedule(s, Date.now());
          await sleep(40);
          running -= 1;
        },
      });
      await scheduler.schedule(step('j1'), Date.now());
      await sleep(200);
      expect(runs).toBe(2);
      expect(most).toBe(1);
    });

    it('runs at most `concurrency` steps of one group at once, other groups beside them', async () => {
      const active = new Map<string, number>();
      const most = new Map<string, number>();
      const { scheduler, ran } = await started({
        concurrency: 2,
        handler: async (s) => {
          active.set(s.group, (active.get(s.group) ?? 0) + 1);
          most.set(s.group, Math.max(most.get(s.group) ?? 0, active.get(s.group)!));
          await sleep(40);
          active.set(s.group, active.get(s.group)! - 1);
        },
      });
      for (let i = 0; i < 6; i += 1) await scheduler.schedule(step(`a${i}`, 'check', 'a'), Date.now());
      await scheduler.schedule(step('b0', 'check', 'b'), Date.now());
      await sleep(30);
      // b did not queue behind a's steps.
      expect(ran.map((r) => r.id)).toContain('b0');
      await sleep(250);
      expect(ran).toHaveLength(7);
      expect(most.get('a')).toBe(2);
    });

    it('reports a step that throws and carries on with the others', async () => {
      const { scheduler, ran, errors } = await started({
        handler: async (s) => {
          if (s.id === 'bad') throw new Error('boom');
        },
      });
      await scheduler.schedule(step('bad'), Date.now());
      await scheduler.schedule(step('good'), Date.now() + 20);
      await sleep(80);
      expect(ran.map((r) => r.id)).toEqual(['bad', 'good']);
      expect(errors).toHaveLength(1);
      expect(String(errors[0])).toContain('boom');
    });

    it('closes: drops pending steps and waits for the running ones', async () => {
      let finished = false;
      const { scheduler, ran } = await started({
        handler: async () => {
          await sleep(60);
          finished = true;
        },
      });
      await scheduler.schedule(step('j1'), Date.now());
      await scheduler.schedule(step('j2'), Date.now() + 30);
      await sleep(15);
      await scheduler.close();
      expect(finished).toBe(true);
      await sleep(60);
      expect(ran.map((r) => r.id)).toEqual(['j1']);
      expect(scheduler.pending()).toBe(0);
    });
  });
};
