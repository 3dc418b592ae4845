import {
  type ContactFieldSpec,
  type FieldRegistry,
  maxLengthOf,
  SMALL_TEXT_MAX,
  type StatementTarget,
} from './fields.ts';
import { describeValue, type Failure } from './wire.ts';

/**
 * Request validation (import definitions) and per-record value checks (syncs). Constraint texts
 * are emulator wording: Oracle documents the `failures` shape but not the texts (A.5, UNVERIFIED).
 */

export type UpdateRule = 'always' | 'ifNewIsNotNull' | 'ifExistingIsNull' | 'useFieldRule';
const UPDATE_RULES: readonly UpdateRule[] = ['always', 'ifNewIsNotNull', 'ifExistingIsNull', 'useFieldRule'];

const SYNC_STATUSES = [
  'bounced',
  'subscribed',
  'unsubscribed',
  'active',
  'complete',
  'pending',
  'errored',
  'yes',
  'no',
  'invalid',
  'permission',
] as const;
export type SyncActionStatus = (typeof SYNC_STATUSES)[number];

export type SyncAction =
  | { readonly action: 'add' | 'remove'; readonly destination: string; readonly listId: number }
  | { readonly action: 'setStatus'; readonly destination: string; readonly status: SyncActionStatus };

/** A validated import definition body (what `POST`/`PUT /contacts/imports` accept). */
export interface DefinitionInput {
  readonly name: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly identifierFieldName: string;
  readonly isSyncTriggeredOnImport: boolean;
  readonly dataRetentionDuration: string;
  readonly isUpdatingMultipleMatchedRecords: boolean;
  readonly autoDeleteDuration?: string;
  readonly syncActions?: readonly SyncAction[];
  readonly updateRule?: UpdateRule;
  readonly updateRuleByField?: Readonly<Record<string, UpdateRule>>;
  readonly nullIdentifierFieldName?: boolean;
  readonly importPriorityUri?: string;
  readonly externalSystemId?: number;
}

export interface DefinitionLimits {
  readonly maxFields: number;
  readonly maxSyncActions: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
export const DEFAULT_DATA_RETENTION = 'P7D';

const DURATION =
  /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** ISO-8601 duration → milliseconds (years 365 d, months 30 d); undefined when malformed. */
export const parseIsoDuration = (value: string): number | undefined => {
  const match = DURATION.exec(value);
  if (match === null || value === 'P' || value.endsWith('T')) return undefined;
  const [y, mo, w, d, h, mi, s] = match.slice(1).map((part) => Number(part ?? 0)) as number[];
  return (
    (y ?? 0) * 365 * DAY_MS +
    (mo ?? 0) * 30 * DAY_MS +
    (w ?? 0) * 7 * DAY_MS +
    (d ?? 0) * DAY_MS +
    (h ?? 0) * HOUR_MS +
    (mi ?? 0) * 60_000 +
    (s ?? 0) * 1000
  );
};

const LIST_DESTINATION = /^\{\{ContactList\[(\d+)\]\}\}$/;
const STATUS_DESTINATION = /^\{\{(?:EmailGroup\[\d+\]|GlobalSubscribe)\}\}$/;
const NAME_CONSTRAINT = 'Must be a string value, at least 1 character and at most 100 characters long.';
const BOOLEAN_CONSTRAINT = 'Must be a boolean value.';

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Validates a definition body. Unknown and read-only properties (`uri`, `createdAt`...) are
 * ignored, so a client may PUT back what it read.
 */
export const validateDefinition = (
  body: unknown,
  context: {
    readonly registry: FieldRegistry;
    readonly limits: DefinitionLimits;
    readonly listExists: (id: number) => boolean;
  },
): { readonly input: DefinitionInput } | { readonly failures: Failure[] } => {
  const failures: Failure[] = [];
  const fail = (field: string, value: unknown, constraint: string) =>
    failures.push({ field, ...(value === undefined ? {} : { value: describeValue(value) }), constraint });
  if (!isPlainObject(body)) return { failures: [{ field: 'body', constraint: 'Must be a JSON object.' }] };

  const name = body.name;
  if (typeof name !== 'string' || name.length < 1 || name.length > 100) fail('name', name, NAME_CONSTRAINT);

  const fields: Record<string, string> = {};
  const targets = new Map<string, StatementTarget>();
  if (!isPlainObject(body.fields)) {
    fail('fields', body.fields, 'Must be an object mapping column names to field statements.');
  } else {
    const entries = Object.entries(body.fields);
    if (entries.length < 1 || entries.length > context.limits.maxFields) {
      fail(
        'fields',
        `${entries.length} fields`,
        `Must contain at least 1 and at most ${context.limits.maxFields} fields.`,
      );
    }
    const seen = new Set<string>();
    for (const [column, statement] of entries) {
      const target = typeof statement === 'string' ? context.registry.resolve(statement) : undefined;
      if (typeof statement !== 'string' || target === undefined) {
        fail(
          `fields.${column}`,
          statement,
          'Must be a valid field statement referencing an existing contact field.',
        );
        continue;
      }
      if (target.kind === 'field' && target.field.hasReadOnlyConstraint === true) {
        fail(`fields.${column}`, statement, 'Must not reference a read-only field.');
        continue;
      }
      const key = target.kind === 'id' ? 'Contact.Id' : target.field.internalName;
      if (seen.has(key)) fail(`fields.${column}`, statement, 'Must not map the same field more than once.');
      seen.add(key);
      fields[column] = statement;
      targets.set(column, target);
    }
  }

  const identifier = body.identifierFieldName;
  if (typeof identifier !== 'string' || identifier.length < 1 || identifier.length > 100) {
    fail('identifierFieldName', identifier, NAME_CONSTRAINT);
  } else if (isPlainObject(body.fields) && !(identifier in body.fields)) {
    fail('identifierFieldName', identifier, 'Must be one of the keys of fields.');
  } else {
    const target = targets.get(identifier);
    if (target?.kind === 'field' && isUnusableIdentifier(target.field)) {
      fail('identifierFieldName', identifier, 'Must not reference a large text, date or boolean field.');
    }
  }

  for (const key of [
    'isSyncTriggeredOnImport',
    'isUpdatingMultipleMatchedRecords',
    'nullIdentifierFieldName',
  ]) {
    if (body[key] !== undefined && typeof body[key] !== 'boolean') fail(key, body[key], BOOLEAN_CONSTRAINT);
  }
  if (body.isUpdatingMultipleMatchedRecords === true) {
    const emailColumn = [...targets].find(
      ([, t]) => t.kind === 'field' && t.field === context.registry.emailField,
    );
    if (emailColumn !== undefined) {
      fail(
        'isUpdatingMultipleMatchedRecords',
        true,
        `Must be false when fields include {{Contact.Field(${context.registry.emailField.internalName})}}.`,
      );
    }
  }

  const retention = body.dataRetentionDuration ?? DEFAULT_DATA_RETENTION;
  const retentionMs = typeof retention === 'string' ? parseIsoDuration(retention) : undefined;
  if (retentionMs === undefined || retentionMs < HOUR_MS || retentionMs > 14 * DAY_MS) {
    fail('dataRetentionDuration', retention, 'Must be an ISO-8601 duration between PT1H and P14D.');
  }
  const autoDelete = body.autoDeleteDuration;
  if (autoDelete !== undefined) {
    const ms = typeof autoDelete === 'string' ? parseIsoDuration(autoDelete) : undefined;
    if (ms === undefined || ms < HOUR_MS) {
      fail('autoDeleteDuration', autoDelete, 'Must be an ISO-8601 duration of at least PT1H.');
    }
  }

  const syncActions = validateSyncActions(body.syncActions, context, fail);

  const updateRule = body.updateRule;
  if (updateRule !== undefined && !UPDATE_RULES.includes(updateRule as UpdateRule)) {
    fail('updateRule', updateRule, `Must be one of ${UPDATE_RULES.join(', ')}.`);
  }
  // Shape UNVERIFIED (A.3.2): accepted as an object of column name → rule.
  const byField = body.updateRuleByField;
  if (byField !== undefined) {
    if (!isPlainObject(byField)) {
      fail('updateRuleByField', byField, 'Must be an object mapping column names to update rules.');
    } else {
      for (const [column, rule] of Object.entries(byField)) {
        if (!targets.has(column))
          fail(`updateRuleByField.${column}`, column, 'Must be one of the keys of fields.');
        else if (!UPDATE_RULES.includes(rule as UpdateRule) || rule === 'useFieldRule') {
          fail(
            `updateRuleByField.${column}`,
            rule,
            'Must be one of always, ifNewIsNotNull, ifExistingIsNull.',
          );
        }
      }
    }
  }

  const priority = body.importPriorityUri;
  if (
    priority !== undefined &&
    (typeof priority !== 'string' || !/^\/imports\/priorities\/\d+$/.test(priority))
  ) {
    fail('importPriorityUri', priority, 'Must reference /imports/priorities/{id}.');
  }
  const externalSystemId = body.externalSystemId;
  if (externalSystemId !== undefined && !Number.isInteger(externalSystemId)) {
    fail('externalSystemId', externalSystemId, 'Must be an integer.');
  }

  if (failures.length > 0) return { failures };
  return {
    input: {
      name: name as string,
      fields,
      identifierFieldName: identifier as string,
      isSyncTriggeredOnImport: body.isSyncTriggeredOnImport === true,
      dataRetentionDuration: retention as string,
      isUpdatingMultipleMatchedRecords: body.isUpdatingMultipleMatchedRecords === true,
      ...(autoDelete === undefined ? {} : { autoDeleteDuration: autoDelete as string }),
      ...(syncActions === undefined ? {} : { syncActions }),
      ...(updateRule === undefined ? {} : { updateRule: updateRule as UpdateRule }),
      ...(byField === undefined ? {} : { updateRuleByField: byField as Record<string, UpdateRule> }),
      ...(body.nullIdentifierFieldName === undefined
        ? {}
        : { nullIdentifierFieldName: body.nullIdentifierFieldName as boolean }),
      ...(priority === undefined ? {} : { importPriorityUri: priority as string }),
      ...(externalSystemId === undefined ? {} : { externalSystemId: externalSystemId as number }),
    },
  };
};

/** Large text, date and boolean fields cannot identify a record (A.3.2). */
const isUnusableIdentifier = (field: ContactFieldSpec): boolean =>
  field.dataType === 'date' ||
  field.dataType === 'boolean' ||
  (field.dataType === 'string' && (maxLengthOf(field) ?? 0) > SMALL_TEXT_MAX);

const validateSyncActions = (
  raw: unknown,
  context: { readonly limits: DefinitionLimits; readonly listExists: (id: number) => boolean },
  fail: (field: string, value: unknown, constraint: string) => void,
): SyncAction[] | undefined => {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.length > context.limits.maxSyncActions) {
    fail(
      'syncActions',
      Array.isArray(raw) ? `${raw.length} actions` : raw,
      `Must be an array of at most ${context.limits.maxSyncActions} sync actions.`,
    );
    return undefined;
  }
  const actions: SyncAction[] = [];
  for (const [index, item] of raw.entries()) {
    const at = `syncActions[${index}]`;
    if (!isPlainObject(item)) {
      fail(at, item, 'Must be an object with action and destination.');
      continue;
    }
    const { action, destination, status } = item;
    if (typeof destination !== 'string') {
      fail(`${at}.destination`, destination, 'Must be a destination statement.');
      continue;
    }
    if (action === 'add' || action === 'remove') {
      const listId = Number(LIST_DESTINATION.exec(destination)?.[1] ?? Number.NaN);
      if (!Number.isInteger(listId)) {
        fail(`${at}.destination`, destination, 'Must be a contact list statement ({{ContactList[id]}}).');
      } else if (!context.listExists(listId)) {
        fail(`${at}.destination`, destination, 'Must reference an existing contact list.');
      } else {
        actions.push({ action, destination, listId });
      }
    } else if (action === 'setStatus') {
      if (!STATUS_DESTINATION.test(destination)) {
        fail(`${at}.destination`, destination, 'Must be {{EmailGroup[id]}} or {{GlobalSubscribe}}.');
      } else if (!SYNC_STATUSES.includes(status as SyncActionStatus)) {
        fail(`${at}.status`, status, `Must be one of ${SYNC_STATUSES.join(', ')}.`);
      } else {
        actions.push({ action, destination, status: status as SyncActionStatus });
      }
    } else {
      fail(`${at}.action`, action, 'Must be one of add, remove, setStatus.');
    }
  }
  return actions;
};

// Practical syntax check: dot-atom local part, dotted host name. Non-ASCII letters are accepted
// (Eloqua's exact rule is UNVERIFIED; rejecting them would make unicode fixtures fail spuriously).
const EMAIL =
  /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?$/u;

// The same rule over ASCII only: several times faster, and nearly every address is ASCII.
const ASCII_EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
// Anything but printable ASCII: the Unicode rule decides (and rejects control characters).
const NON_ASCII = /[^ -~]/;

export const isValidEmail = (value: string): boolean =>
  value.length <= 254 && (ASCII_EMAIL.test(value) || (NON_ASCII.test(value) && EMAIL.test(value)));

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const DATE =
  /^(?:\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?|\d{1,2}\/\d{1,2}\/\d{4}(?: \d{1,2}:\d{2}(?::\d{2})?(?: ?[AP]M)?)?)$/i;
const BOOLEAN = /^(?:true|false|yes|no|1|0)$/i;

/** Why one value is unacceptable for its field, or undefined when it is fine. */
export interface ValueProblem {
  readonly statusCode: string;
  readonly message: string;
}

export const INVALID_EMAIL: ValueProblem = { statusCode: 'ELQ-00002', message: 'Invalid email address.' };
// ELQ-00040 is what rudder-server saw for values a field cannot hold (A.3.9); the texts are ours.
const invalidValue = (message: string): ValueProblem => ({ statusCode: 'ELQ-00040', message });
const MISSING: ValueProblem = { statusCode: 'ELQ-00061', message: 'Required field is missing.' };

export const checkValue = (field: ContactFieldSpec, value: string): ValueProblem | undefined => {
  if (value === '') return field.hasNotNullConstraint === true ? MISSING : undefined;
  const max = maxLengthOf(field);
  switch (field.dataType) {
    case 'emailAddress':
      return isValidEmail(value) && (max === undefined || value.length <= max) ? undefined : INVALID_EMAIL;
    case 'string':
      return max !== undefined && value.length > max
        ? invalidValue(`Value is longer than the ${max} characters field ${field.internalName} holds.`)
        : undefined;
    case 'number':
      return NUMBER.test(value.trim())
        ? undefined
        : invalidValue(`Value is not a number (${field.internalName}).`);
    case 'date':
      return DATE.test(value.trim()) && !Number.isNaN(Date.parse(value.includes('/') ? value : value.trim()))
        ? undefined
        : invalidValue(`Value is not a date (${field.internalName}).`);
    case 'boolean':
      return BOOLEAN.test(value.trim())
        ? undefined
        : invalidValue(`Value is not a boolean (${field.internalName}).`);
  }
};
