import type { FastifyRequest } from 'fastify';
import type { FaultInjector } from '../faults.ts';
import type { FieldRegistry } from './field-definitions.ts';
import type { JobQueue } from './jobs.ts';
import type { ListRegistry } from './lists.ts';
import type { ContactStore } from './store.ts';

/** The vendor's size limits; options may lower them so tests stay fast. */
export interface SendgridLimits {
  /** Contacts per `PUT /v3/marketing/contacts` (default 30,000) [S1 maxItems]. */
  readonly maxContactsPerRequest: number;
  /**
   * Request body bytes per `PUT /v3/marketing/contacts`: default 6,000,000 [S1 "6MB"]. SendGrid writes
   * "6MB" without saying MB or MiB; the stricter reading is enforced, so that a client packing to
   * 6 MiB fails here rather than live.
   */
  readonly maxRequestBytes: number;
  /** Data rows per CSV import (default 1,000,000) [S1]. */
  readonly maxImportRows: number;
  /** Uploaded bytes per CSV import, as sent (compressed if gzip; default 5 GiB) [S1 "5GB"]. */
  readonly maxImportBytes: number;
}

export const DEFAULT_LIMITS: SendgridLimits = {
  maxContactsPerRequest: 30_000,
  maxRequestBytes: 6_000_000,
  maxImportRows: 1_000_000,
  maxImportBytes: 5 * 1024 ** 3,
};

/** What the route modules share. */
export interface SendgridContext {
  readonly limits: SendgridLimits;
  readonly store: ContactStore;
  readonly fields: FieldRegistry;
  readonly lists: ListRegistry;
  readonly jobs: JobQueue;
  readonly faults: FaultInjector;
  /** `http://host:port` as the client addressed the server, for absolute URLs in bodies. */
  readonly originOf: (request: FastifyRequest) => string;
}
