import type { Engine } from '../engine/engine.ts';
import type { RunEvent } from '../engine/events.ts';

/*
 * The events of each run this process drives, numbered, so a server-sent-events client that
 * reconnects with `Last-Event-ID` gets what it missed. Progress events replace each other (a
 * reconnecting client wants the latest counters, not a backlog); phase and end events are kept.
 * Ids are `<boot>-<seq>`: an id from before a restart names another boot, and the client gets
 * everything this process has for the run.
 */

export interface FedEvent {
  readonly id: string;
  readonly seq: number;
  readonly event: RunEvent;
}

export interface RunFeeds {
  /** Starts keeping a run's events; call before the run can emit. */
  readonly follow: (runId: string) => void;
  /** The kept events after `lastEventId`, and a function to listen to the next ones. */
  readonly since: (runId: string, lastEventId: string | undefined) => FedEvent[] | undefined;
  readonly listen: (runId: string, listener: (event: FedEvent) => void) => () => void;
}

const KEPT = 200;

export const createRunFeeds = (engine: Engine): RunFeeds => {
  const boot = Date.now().toString(36);
  const feeds = new Map<
    string,
    { events: FedEvent[]; listeners: Set<(event: FedEvent) => void>; seq: number }
  >();
  const ended: string[] = [];

  const follow: RunFeeds['follow'] = (runId) => {
    if (feeds.has(runId)) return;
    const feed = { events: [] as FedEvent[], listeners: new Set<(event: FedEvent) => void>(), seq: 0 };
    feeds.set(runId, feed);
    const stop = engine.subscribe(runId, (event) => {
      feed.seq += 1;
      const fed: FedEvent = { id: `${boot}-${feed.seq}`, seq: feed.seq, event };
      if (event.type === 'progress' && feed.events.at(-1)?.event.type === 'progress')
        feed.events[feed.events.length - 1] = fed;
      else feed.events.push(fed);
      if (feed.events.length > KEPT) feed.events.shift();
      for (const listener of [...feed.listeners]) listener(fed);
      if (event.type === 'finished' || event.type === 'failed') {
        stop();
        // Ended runs' feeds are kept a while for late readers, then the store answers for them.
        ended.push(runId);
        if (ended.length > 100) feeds.delete(ended.shift()!);
      }
    });
  };

  return {
    follow,
    since: (runId, lastEventId) => {
      const feed = feeds.get(runId);
      if (feed === undefined) return undefined;
      const match = lastEventId === undefined ? null : /^([0-9a-z]+)-(\d+)$/.exec(lastEventId);
      const after = match !== null && match[1] === boot ? Number(match[2]) : 0;
      return feed.events.filter((fed) => fed.seq > after);
    },
    listen: (runId, listener) => {
      const feed = feeds.get(runId);
      if (feed === undefined) return () => undefined;
      feed.listeners.add(listener);
      return () => feed.listeners.delete(listener);
    },
  };
};
