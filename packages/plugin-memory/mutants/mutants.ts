// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the mutants are source text, placeholders included
/**
 * Realistic plugin bugs, each a small edit to a copy of plugin-memory's source. `run.ts` applies
 * them one at a time and runs the conformance kit against each copy: a bug is caught when at least
 * one case fails. Every `find` must occur exactly once in its file (run.ts checks), so a refactor of
 * plugin-memory that moves the code fails loudly instead of silently testing nothing.
 */
export interface Mutant {
  readonly id: string;
  /** The bug, as an author would make it. */
  readonly bug: string;
  /** The conformance case expected to catch it (informative; any failing case counts). */
  readonly expectedCase: string;
  readonly edits: readonly { readonly file: string; readonly find: string; readonly replace: string }[];
}

export const mutants: readonly Mutant[] = [
  {
    id: 'measure-utf16-length',
    bug: 'measure counts UTF-16 code units (string.length), not encoded bytes',
    expectedCase: 'multibyte-byte-limit',
    edits: [
      {
        file: 'src/mapping.ts',
        find: "Buffer.byteLength(encodeLine(toWireRecord(change)), 'utf8')",
        replace: 'encodeLine(toWireRecord(change)).length',
      },
    ],
  },
  {
    id: 'null-as-text',
    bug: 'a cleared field is sent as the text "null"',
    expectedCase: 'typed-values',
    edits: [
      {
        file: 'src/mapping.ts',
        find: 'const toWireValue = (value: FieldValue): WireValue => (value instanceof Date ? value.toISOString() : value);',
        replace:
          "const toWireValue = (value: FieldValue): WireValue => (value === null ? 'null' : value instanceof Date ? value.toISOString() : value);",
      },
    ],
  },
  {
    id: 'null-dropped',
    bug: 'null fields are left out of the record, so the vendor keeps the old value',
    expectedCase: 'typed-values',
    edits: [
      {
        file: 'src/mapping.ts',
        find: 'for (const [name, value] of Object.entries(change.fields)) fields[name] = toWireValue(value);',
        replace:
          'for (const [name, value] of Object.entries(change.fields)) if (value !== null) fields[name] = toWireValue(value);',
      },
    ],
  },
  {
    id: 'numbers-stringified',
    bug: 'every value is sent as text (String(value)), numbers and booleans included',
    expectedCase: 'typed-values',
    edits: [
      {
        file: 'src/mapping.ts',
        find: 'const toWireValue = (value: FieldValue): WireValue => (value instanceof Date ? value.toISOString() : value);',
        replace:
          'const toWireValue = (value: FieldValue): WireValue => (value instanceof Date ? value.toISOString() : value === null ? null : String(value));',
      },
    ],
  },
  {
    id: 'dates-as-epoch',
    bug: 'dates are sent as epoch milliseconds',
    expectedCase: 'typed-values',
    edits: [
      {
        file: 'src/mapping.ts',
        find: 'const toWireValue = (value: FieldValue): WireValue => (value instanceof Date ? value.toISOString() : value);',
        replace:
          'const toWireValue = (value: FieldValue): WireValue => (value instanceof Date ? value.getTime() : value);',
      },
    ],
  },
  {
    id: 'transient-as-rejected',
    bug: "per-record transient errors are reported as permanent rejections (the vendor's flag is ignored)",
    expectedCase: 'transient-outcomes',
    edits: [
      { file: 'src/operations/jobs.ts', find: 'if (reject.transient === true) {', replace: 'if (false) {' },
    ],
  },
  {
    id: 'failed-always-retryable',
    bug: "a failed job is always reported retryable, whatever the vendor's flag",
    expectedCase: 'whole-job-failure',
    edits: [
      {
        file: 'src/operations/jobs.ts',
        find: 'retryable: found.error.retryable,',
        replace: 'retryable: true,',
      },
    ],
  },
  {
    id: 'failed-as-completed',
    bug: 'a failed job is reported completed, with every member rejected',
    expectedCase: 'whole-job-failure',
    edits: [
      {
        file: 'src/operations/jobs.ts',
        find: "  if (found.state === 'failed') {\n    return {",
        replace:
          "  if (found.state === 'failed') {\n    return { state: 'completed', outcomes: members.map((m) => ({ profileId: m.profileId, status: 'rejected' as const, code: found.error.code, message: found.error.message })) };\n    return {",
      },
    ],
  },
  {
    id: 'status-429-fails-job',
    bug: 'a 429 on the status endpoint is read as "the job is gone" and reported as a failed job',
    expectedCase: 'status-rate-limited',
    edits: [
      {
        file: 'src/operations/jobs.ts',
        find: "    'get import',\n    (request) => vendorGetImport(request, importId),\n    [404],",
        replace: "    'get import',\n    (request) => vendorGetImport(request, importId),\n    [404, 429],",
      },
    ],
  },
  {
    id: 'status-503-fails-job',
    bug: 'a 503 on the status endpoint is reported as a failed job instead of a failed check',
    expectedCase: 'transient-status-check',
    edits: [
      {
        file: 'src/operations/jobs.ts',
        find: "    'get import',\n    (request) => vendorGetImport(request, importId),\n    [404],",
        replace: "    'get import',\n    (request) => vendorGetImport(request, importId),\n    [404, 503],",
      },
    ],
  },
  {
    id: 'module-level-job-map',
    bug: 'the handle holds a local counter; the vendor id is kept in a module-level Map',
    expectedCase: 'restart-fresh-modules',
    edits: [
      {
        file: 'src/operations/jobs.ts',
        find: 'export const toHandle = (importId: string): JobHandle => ({ v: 1, importId });',
        replace:
          'const importIds = new Map<string, string>();\nlet nextLocalId = 0;\nexport const toHandle = (importId: string): JobHandle => {\n  const local = `job-${++nextLocalId}`;\n  importIds.set(local, importId);\n  return { v: 1, importId: local };\n};',
      },
      {
        file: 'src/operations/jobs.ts',
        find: '  return parsed.data.importId;',
        replace: '  return importIds.get(parsed.data.importId) ?? parsed.data.importId;',
      },
    ],
  },
  {
    id: 'secret-in-handle',
    bug: 'the API key is stored in the job handle "to check the job later"',
    expectedCase: 'every case (handles)',
    edits: [
      {
        file: 'src/index.ts',
        find: 'return { job: toHandle(importId), rejected };',
        replace: 'return { job: { ...toHandle(importId), apiKey: ctx.options.apiKey }, rejected };',
      },
    ],
  },
  {
    id: 'secret-in-log',
    bug: 'a debug log line carries the request credentials',
    expectedCase: 'every case (log lines)',
    edits: [
      {
        file: 'src/index.ts',
        find: "ctx.logger.debug('memory import created', { importId, records, bytes, rejected: rejected.length });",
        replace:
          "ctx.logger.debug('memory import created', { importId, records, bytes, rejected: rejected.length, auth: `Bearer ${ctx.options.apiKey}` });",
      },
    ],
  },
  {
    id: 'secret-in-error',
    bug: 'the 401 error names the key that was refused',
    expectedCase: 'auth-failure',
    edits: [
      {
        file: 'src/client.ts',
        find: '    throw new AuthError(ctx.destination, message, details);',
        replace:
          '    throw new AuthError(ctx.destination, `${message} (key ${ctx.options.apiKey})`, details);',
      },
    ],
  },
  {
    id: 'empty-batch-preflight',
    bug: 'exportProfiles checks the account before looking at the batch, so an empty batch calls the vendor',
    expectedCase: 'empty-batch',
    edits: [
      {
        file: 'src/index.ts',
        find: '    const { body, records, rejected } = await encodeBatch(batch, ctx.options);',
        replace:
          '    await verifyAccount(ctx, { fields: [], lists: [] });\n    const { body, records, rejected } = await encodeBatch(batch, ctx.options);',
      },
    ],
  },
  {
    id: 'poll-counter-in-handle',
    bug: 'checkStatus counts polls in the handle it was given',
    expectedCase: 'pending-idempotent-status',
    edits: [
      {
        file: 'src/index.ts',
        find: 'checkStatus: async (ctx, job, members) => toJobStatus(await getImport(ctx, parseHandle(ctx, job)), members),',
        replace:
          'checkStatus: async (ctx, job, members) => {\n    (job as Record<string, unknown>).polls = Number(job.polls ?? 0) + 1;\n    return toJobStatus(await getImport(ctx, parseHandle(ctx, job)), members);\n  },',
      },
    ],
  },
  {
    id: 'pending-without-progress-fails',
    bug: 'a job with no progress yet is taken for stuck and reported failed',
    expectedCase: 'pending-idempotent-status',
    edits: [
      {
        file: 'src/operations/jobs.ts',
        find: "  if (found.state === 'processing') {",
        replace:
          "  if (found.state === 'processing' && found.processed === 0) {\n    return { state: 'failed', retryable: true, message: 'the import is stuck' };\n  }\n  if (found.state === 'processing') {",
      },
    ],
  },
  {
    id: 'rate-limit-permanent',
    bug: 'a 429 is mapped to PermanentError (the plugin does not know rate limits)',
    expectedCase: 'rate-limit-storm',
    edits: [
      {
        file: 'src/client.ts',
        find: '  if (response.status === 429) {',
        replace: '  if (response.status === 4290) {',
      },
    ],
  },
  {
    id: 'rows-off-by-one',
    bug: "the vendor's 0-based row numbers are read as 1-based",
    expectedCase: 'invalid-email / outcome-members',
    edits: [
      {
        file: 'src/operations/jobs.ts',
        find: 'const member = members[reject.row];',
        replace: 'const member = members[reject.row - 1];',
      },
    ],
  },
  {
    id: 'lists-ignored',
    bug: 'list changes are not sent',
    expectedCase: 'list-membership',
    edits: [
      {
        file: 'src/mapping.ts',
        find: '...(change.lists === undefined ? {} : { lists: { add: change.lists.add, remove: change.lists.remove } }),',
        replace: '',
      },
    ],
  },
  {
    id: 'oversize-code-units',
    bug: 'the length check counts UTF-16 code units, so emoji-rich values under the limit are rejected',
    expectedCase: 'multibyte-byte-limit / unicode-values',
    edits: [
      {
        file: 'src/mapping.ts',
        find: "    if (typeof value === 'string' && codePoints(value) > options.validation.maxFieldLength) {",
        replace: "    if (typeof value === 'string' && value.length > options.validation.maxFieldLength) {",
      },
    ],
  },
];
