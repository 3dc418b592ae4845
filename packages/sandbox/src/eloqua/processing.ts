import type { ImportDefinition } from './definitions.ts';
import type { ContactFieldSpec, FieldRegistry, StatementTarget } from './fields.ts';
import type { ContactStore } from './store.ts';
import { ABSENT, SEP, type StagedUpload } from './uploads.ts';
import { checkValue, type UpdateRule, type ValueProblem } from './validation.ts';

/**
 * What a sync does when it ends: every staged row validated, matched, applied to the contact
 * store (with the definition's update rule and sync actions), and the outcome — status, rejects
 * and logs — computed. Pure with respect to the HTTP layer; syncs.ts decides when it runs.
 */

/** What to do with a value a field cannot hold (too long, not a number/date/boolean). */
export type InvalidFieldPolicy = 'dropField' | 'rejectRecord';

export interface SyncReject {
  readonly recordIndex: number;
  readonly statusCode: string;
  readonly message: string;
  readonly invalidFields: readonly string[];
  readonly columns: readonly string[];
  readonly row: string;
}

export interface SyncLog {
  readonly count: number;
  readonly severity: 'information' | 'warning' | 'error';
  readonly statusCode: string;
  readonly message: string;
}

export interface SyncOutcome {
  readonly status: 'success' | 'warning' | 'error';
  readonly rejects: readonly SyncReject[];
  readonly logs: readonly SyncLog[];
}

const LOG_MESSAGES: Record<string, string> = {
  'ELQ-00002': 'Invalid email addresses.',
  'ELQ-00011': 'Duplicate email addresses.',
  'ELQ-00026': 'Duplicate identifiers.',
  'ELQ-00032': 'Malformed records.',
  'ELQ-00034': 'Total unmatched records.',
  'ELQ-00040': 'Records with invalid field values (those fields were not imported).',
  'ELQ-00048': 'Contact already exists.',
  'ELQ-00059': 'Empty records.',
  'ELQ-00061': 'Rejected records (missing fields).',
};

const REJECT = {
  malformed: { statusCode: 'ELQ-00032', message: 'Malformed record.' },
  empty: { statusCode: 'ELQ-00059', message: 'Empty record.' },
  missing: { statusCode: 'ELQ-00061', message: 'Required field is missing.' },
  duplicateEmail: { statusCode: 'ELQ-00011', message: 'Duplicate email address.' },
  duplicateIdentifier: { statusCode: 'ELQ-00026', message: 'Duplicate identifier.' },
  unmatched: { statusCode: 'ELQ-00034', message: 'No contact matches the identifier.' },
  exists: { statusCode: 'ELQ-00048', message: 'Contact already exists.' },
} as const satisfies Record<string, ValueProblem>;

const INVALID_VALUES: ValueProblem = {
  statusCode: 'ELQ-00040',
  message: 'Invalid field values were not imported; the rest of the record was.',
};

/** The definition was deleted (or auto-deleted) before the sync ran: nothing is applied. */
export const definitionGone = (sync: {
  readonly id: number;
  readonly syncedInstanceUri: string;
  readonly recordCount: number;
}): SyncOutcome => ({
  status: 'error',
  rejects: [],
  logs: [
    {
      count: sync.recordCount,
      severity: 'error',
      // ELQ-00122 "definition validation errors" is from a secondary source (A.3.9): UNVERIFIED.
      statusCode: 'ELQ-00122',
      message: `The import definition ${sync.syncedInstanceUri} no longer exists.`,
    },
    {
      count: 0,
      severity: 'error',
      statusCode: 'ELQ-00101',
      message: `Sync processed for sync ${sync.id}, resulting in error status.`,
    },
  ],
});

interface ColumnPlan {
  readonly column: string;
  readonly target: StatementTarget;
  readonly rule: UpdateRule;
}

/**
 * Applies a sync's uploads to the store, in upload order. `recordIndex` is 1-based and continues
 * across uploads (A.6: UNVERIFIED beyond a single upload). Within one sync the FIRST row with a
 * given identifier is imported and later ones are rejected as duplicates (UNVERIFIED choice).
 * This loop runs once per staged row (a million in the benchmark), hence the plain loops and
 * the allocations made only when a row has a problem.
 */
export const applyUploads = (
  sync: { readonly id: number },
  definition: ImportDefinition,
  uploads: readonly StagedUpload[],
  deps: {
    readonly store: ContactStore;
    readonly registry: FieldRegistry;
    readonly invalidFieldPolicy: InvalidFieldPolicy;
    /** The sync's end: the contacts' modification time. */
    readonly nowMs: number;
  },
): SyncOutcome => {
  const { store, registry, nowMs } = deps;
  const { input } = definition;
  const plans = new Map<string, ColumnPlan>();
  for (const [column, statement] of Object.entries(input.fields)) {
    const target = registry.resolve(statement);
    if (target === undefined) continue;
    const rule =
      input.updateRule === 'useFieldRule'
        ? (input.updateRuleByField?.[column] ?? 'always')
        : (input.updateRule ?? 'always');
    plans.set(column, { column, target, rule });
  }
  const identifierColumn = input.identifierFieldName;
  const identifierTarget = plans.get(identifierColumn)?.target;
  const emailSlot = registry.emailSlot;
  const emailColumn = [...plans.values()].find(
    (p) => p.target.kind === 'field' && p.target.slot === emailSlot,
  )?.column;
  const identifierIsEmail = identifierTarget?.kind === 'field' && identifierTarget.slot === emailSlot;
  const normalize = (value: string) => value.trim().toLowerCase();
  // Duplicates: contacts matched by e-mail or id are marked with the sync id in the store; other
  // identifiers (a CRM id column...) are remembered in a set and matched through an index.
  const seen = identifierIsEmail || identifierTarget?.kind === 'id' ? undefined : new Set<string>();
  let fieldIndex: Map<string, number[]> | undefined;
  const lookup = (value: string): number[] | number | undefined => {
    if (identifierTarget === undefined) return undefined;
    if (identifierTarget.kind === 'id') {
      const id = Number(value.trim());
      return Number.isSafeInteger(id) && store.exists(id) ? id : undefined;
    }
    if (identifierIsEmail) return store.idByEmail(value);
    fieldIndex ??= store.indexBy(identifierTarget.slot, normalize);
    return fieldIndex.get(normalize(value));
  };

  const rejects: SyncReject[] = [];
  const rejectCounts = new Map<string, number>();
  let recordIndex = 0;
  let hardRejects = 0;
  let duplicates = 0;
  let created = 0;
  let updated = 0;
  const listActions = input.syncActions ?? [];
  const sharedFieldLists = new Map<string, readonly string[]>();
  /** Identical invalidFields arrays are shared: a million rejects of one bad column cost one array. */
  const fieldList = (names: readonly string[]): readonly string[] => {
    const key = names.join(SEP);
    let shared = sharedFieldLists.get(key);
    if (shared === undefined) {
      shared = Object.freeze([...names]);
      sharedFieldLists.set(key, shared);
    }
    return shared;
  };
  const reject = (
    columns: readonly string[],
    row: string,
    problem: ValueProblem,
    invalidFields: readonly string[],
    hard = true,
  ) => {
    rejects.push({ recordIndex, ...problem, invalidFields: fieldList(invalidFields), columns, row });
    rejectCounts.set(problem.statusCode, (rejectCounts.get(problem.statusCode) ?? 0) + 1);
    if (hard) hardRejects += 1;
  };
  const applyActions = (id: number) => {
    for (const action of listActions) {
      if (action.action === 'setStatus') store.setStatus(action.destination, id, action.status);
      else if (action.action === 'add') store.lists.get(action.listId)?.members.add(id);
      else store.lists.get(action.listId)?.members.delete(id);
    }
  };
  const NONE: readonly string[] = [];
  const identifierOnly = [identifierColumn];
  const emailOnly = [emailColumn ?? registry.emailField.internalName];

  for (const upload of uploads) {
    const { columns } = upload;
    const width = columns.length;
    // Per column: the field slot it writes (-1: not a field), its field and update rule.
    const slots: number[] = [];
    const fields: (ContactFieldSpec | undefined)[] = [];
    const rules: UpdateRule[] = [];
    for (const column of columns) {
      const plan = plans.get(column);
      slots.push(plan?.target.kind === 'field' ? plan.target.slot : -1);
      fields.push(plan?.target.kind === 'field' ? plan.target.field : undefined);
      rules.push(plan?.rule ?? 'always');
    }
    const identifierAt = columns.indexOf(identifierColumn);
    const emailAt = emailColumn === undefined ? -1 : columns.indexOf(emailColumn);

    for (const row of upload.rows) {
      recordIndex += 1;
      if (row.charCodeAt(0) === 0x1d) {
        reject(columns, row, REJECT.malformed, NONE);
        continue;
      }
      const values = row.split(SEP);
      let empty = true;
      for (let c = 0; c < values.length; c += 1) {
        const value = values[c];
        if (value !== '' && value !== ABSENT) {
          empty = false;
          break;
        }
      }
      if (empty) {
        reject(columns, row, REJECT.empty, NONE);
        continue;
      }
      const identifier = identifierAt === -1 ? undefined : values[identifierAt];
      if (identifier === undefined || identifier === ABSENT || identifier.trim() === '') {
        reject(columns, row, REJECT.missing, identifierOnly);
        continue;
      }

      let hard: ValueProblem | undefined;
      let invalid: string[] | undefined;
      for (let c = 0; c < width; c += 1) {
        const field = fields[c];
        const value = values[c];
        if (field === undefined || value === undefined || value === ABSENT) continue;
        const problem = checkValue(field, value);
        if (problem === undefined) continue;
        if (invalid === undefined) invalid = [];
        invalid.push(columns[c] ?? '');
        // The field is skipped on import; the row is kept only for ELQ-00040-type problems.
        values[c] = ABSENT;
        const isHard =
          c === identifierAt ||
          field.hasUniquenessConstraint === true ||
          problem.statusCode !== 'ELQ-00040' ||
          deps.invalidFieldPolicy === 'rejectRecord';
        if (isHard && hard === undefined) hard = problem;
      }
      if (hard !== undefined) {
        reject(columns, row, hard, invalid ?? NONE);
        continue;
      }

      const match = lookup(identifier);
      if (seen !== undefined) {
        const key = normalize(identifier);
        if (seen.has(key)) {
          duplicates += 1;
          reject(columns, row, REJECT.duplicateIdentifier, identifierOnly);
          continue;
        }
        seen.add(key);
      } else if (typeof match === 'number' && store.marked(match, sync.id)) {
        duplicates += 1;
        reject(
          columns,
          row,
          identifierIsEmail ? REJECT.duplicateEmail : REJECT.duplicateIdentifier,
          identifierOnly,
        );
        continue;
      }

      const newEmail = emailAt === -1 ? undefined : values[emailAt];
      const hasNewEmail = newEmail !== undefined && newEmail !== ABSENT && newEmail !== '';
      if (match === undefined) {
        if (identifierTarget?.kind === 'id') {
          reject(columns, row, REJECT.unmatched, identifierOnly);
          continue;
        }
        // Every Eloqua contact has an e-mail address; a new one needs a usable one.
        if (!hasNewEmail) {
          reject(columns, row, REJECT.missing, emailOnly);
          continue;
        }
        if (!identifierIsEmail && store.idByEmail(newEmail) !== undefined) {
          reject(columns, row, REJECT.exists, emailOnly);
          continue;
        }
        const record = store.blank();
        for (let c = 0; c < width; c += 1) {
          const slot = slots[c] ?? -1;
          const value = values[c];
          if (slot !== -1 && value !== undefined && value !== ABSENT) record[slot] = value;
        }
        const id = store.create(record, nowMs);
        store.mark(id, sync.id);
        if (fieldIndex !== undefined) fieldIndex.set(normalize(identifier), [id]);
        created += 1;
        if (invalid !== undefined) reject(columns, row, INVALID_VALUES, invalid, false);
        applyActions(id);
        continue;
      }

      const targets =
        typeof match === 'number'
          ? [match]
          : input.isUpdatingMultipleMatchedRecords
            ? match
            : match.slice(0, 1);
      const first = targets[0];
      if (hasNewEmail && first !== undefined && (store.idByEmail(newEmail) ?? first) !== first) {
        reject(columns, row, REJECT.exists, emailOnly);
        continue;
      }
      for (const id of targets) {
        const record = store.read(id);
        if (record === undefined) continue;
        const oldEmail = record[emailSlot] ?? '';
        for (let c = 0; c < width; c += 1) {
          const slot = slots[c] ?? -1;
          const value = values[c];
          if (slot === -1 || value === undefined || value === ABSENT) continue;
          const rule = rules[c];
          if (
            rule === 'always' ||
            (rule === 'ifNewIsNotNull' && value !== '') ||
            (rule === 'ifExistingIsNull' && (record[slot] ?? '') === '')
          ) {
            record[slot] = value;
          }
        }
        // An address cannot be blanked: the contact would lose its key.
        if ((record[emailSlot] ?? '') === '') record[emailSlot] = oldEmail;
        store.write(id, record, nowMs);
        store.mark(id, sync.id);
        applyActions(id);
      }
      updated += targets.length;
      if (invalid !== undefined) reject(columns, row, INVALID_VALUES, invalid, false);
    }
  }

  const total = recordIndex;
  const status: SyncOutcome['status'] =
    total === 0 || hardRejects === total ? 'error' : rejects.length > 0 ? 'warning' : 'success';
  const logs: SyncLog[] = [
    { count: total, severity: 'information', statusCode: 'ELQ-00001', message: 'Total records processed.' },
  ];
  if (total === 0) {
    // ELQ-00124 "no data available to process" is from a secondary source (A.3.9): UNVERIFIED.
    logs.push({
      count: 0,
      severity: 'error',
      statusCode: 'ELQ-00124',
      message: 'There is no data available to process.',
    });
  }
  if (duplicates > 0) {
    logs.push({
      count: total - duplicates,
      severity: 'information',
      statusCode: 'ELQ-00003',
      message: 'Total records remaining after duplicates are rejected.',
    });
  }
  if (created > 0)
    logs.push({
      count: created,
      severity: 'information',
      statusCode: 'ELQ-00004',
      message: 'Contacts created.',
    });
  if (updated > 0)
    logs.push({
      count: updated,
      severity: 'information',
      statusCode: 'ELQ-00022',
      message: 'Contacts updated.',
    });
  for (const [statusCode, count] of [...rejectCounts].sort(([a], [b]) => a.localeCompare(b))) {
    logs.push({
      count,
      severity: 'warning',
      statusCode,
      message: LOG_MESSAGES[statusCode] ?? 'Rejected records.',
    });
  }
  if (hardRejects > 0) {
    logs.push({
      count: hardRejects,
      severity: 'warning',
      statusCode: 'ELQ-00060',
      message: 'Total rejected records.',
    });
  }
  logs.push({
    count: 0,
    severity: status === 'error' ? 'error' : 'information',
    statusCode: 'ELQ-00101',
    message: `Sync processed for sync ${sync.id}, resulting in ${status} status.`,
  });
  return { status, rejects, logs };
};
