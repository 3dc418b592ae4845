import { randomBytes } from 'node:crypto';
import { AuthError, type VerifyProblem, type VerifyRequest, type VerifyResult } from '@ferry/core';
import { bulkBaseUrl, type EloquaContext } from '../auth.ts';
import { type Bulk, bulkClient, readAllPages, sendBulk, validationFailures } from '../client.ts';
import {
  FIELD_NAME,
  fieldStatement,
  listStatement,
  MAX_DEFINITION_FIELDS,
  MAX_SYNC_ACTIONS,
} from '../mapping.ts';
import type { Collection, ContactField, ImportDefinition } from '../types.ts';
import { deleteDefinition } from './definitions.ts';

/**
 * "Test connection": the credentials work (`/id` and a Bulk call), every mapped field exists in
 * `/contacts/fields` and can be written, the identifier field may identify contacts, and the list ids
 * exist. Problems are returned, each naming its field or list, so the user sees all of them at once;
 * only a failure to ask (network, 5xx, rate limit) is thrown.
 */

export const readContactFields = async (ctx: EloquaContext, bulk: Bulk): Promise<ContactField[]> => {
  const fields: ContactField[] = [];
  await readAllPages<ContactField>(
    ctx,
    bulk,
    { url: '/contacts/fields', operation: 'list contact fields' },
    (page) => fields.push(...page),
  );
  return fields;
};

const LIST_ID = /^[1-9]\d{0,17}$/;

/**
 * Which of `listIds` Eloqua does not have. `GET /contacts/lists/{id}` answers it (Oracle's OpenAPI);
 * where the collection `GET /contacts/lists` itself is unknown (404: an emulator without it), a
 * probe definition whose sync actions name the lists is created and deleted instead, and the lists
 * its 400 `failures` name are the missing ones.
 */
const missingLists = async (
  ctx: EloquaContext,
  bulk: Bulk,
  listIds: readonly string[],
): Promise<Set<string>> => {
  const missing = new Set<string>();
  if (listIds.length === 0) return missing;
  const endpoint = await sendBulk<Collection<unknown>>(ctx, bulk, {
    method: 'GET',
    url: '/contacts/lists',
    query: { limit: 1 },
    accept: [404],
    operation: 'list contact lists',
  });
  if (endpoint.status !== 404) {
    for (const id of listIds) {
      const response = await sendBulk(ctx, bulk, {
        method: 'GET',
        url: `/contacts/lists/${id}`,
        accept: [404],
        operation: 'get contact list',
      });
      if (response.status === 404) missing.add(id);
    }
    return missing;
  }
  const identifier = ctx.options.identifierField;
  for (let at = 0; at < listIds.length; at += MAX_SYNC_ACTIONS) {
    const chunk = listIds.slice(at, at + MAX_SYNC_ACTIONS);
    const response = await sendBulk<ImportDefinition>(ctx, bulk, {
      method: 'POST',
      url: '/contacts/imports',
      json: {
        name: `ferry-verify-${randomBytes(4).toString('hex')}`,
        fields: { [identifier]: fieldStatement(identifier) },
        identifierFieldName: identifier,
        isSyncTriggeredOnImport: false,
        autoDeleteDuration: 'PT1H',
        syncActions: chunk.map((id) => ({ action: 'add', destination: listStatement(id) })),
      },
      accept: [400],
      operation: 'probe contact lists',
    });
    if (response.status === 400) {
      for (const failure of validationFailures(response.data)) {
        const index = /^syncActions\[(\d+)\]/.exec(failure.field ?? '')?.[1];
        const id = index === undefined ? undefined : chunk[Number(index)];
        if (id !== undefined) missing.add(id);
      }
      continue;
    }
    const uri = response.data?.uri;
    if (typeof uri === 'string') await deleteDefinition(ctx, bulk, uri);
  }
  return missing;
};

export const verifyConnection = async (ctx: EloquaContext, request: VerifyRequest): Promise<VerifyResult> => {
  const problems: VerifyProblem[] = [];
  const authProblem = (error: AuthError): VerifyResult => ({
    ok: false,
    problems: [{ kind: 'auth', subject: 'auth', message: error.message }],
  });
  let bulk: Bulk;
  let fields: ContactField[];
  try {
    bulk = bulkClient(ctx, await bulkBaseUrl(ctx));
    fields = await readContactFields(ctx, bulk);
  } catch (error) {
    if (error instanceof AuthError) return authProblem(error);
    throw error;
  }
  // Eloqua resolves internal names case-insensitively in statements; a different case is still a match.
  const byName = new Map(fields.map((field) => [field.internalName.toLowerCase(), field]));

  const identifier = ctx.options.identifierField;
  const identifierField = byName.get(identifier.toLowerCase());
  if (identifierField === undefined) {
    problems.push({
      kind: 'option',
      subject: 'identifierField',
      message: `identifierField ${identifier} is not a contact field of this Eloqua instance`,
    });
  } else if (identifierField.dataType === 'date' || identifierField.dataType === 'boolean') {
    problems.push({
      kind: 'option',
      subject: 'identifierField',
      message: `identifierField ${identifier} is a ${identifierField.dataType} field; Eloqua does not identify contacts by date, boolean or large-text fields`,
    });
  }

  const columns = new Set([identifier, ...request.fields]);
  if (columns.size > MAX_DEFINITION_FIELDS) {
    problems.push({
      kind: 'option',
      subject: 'fields',
      message: `${columns.size} fields are mapped (with the identifier); an Eloqua import definition holds at most ${MAX_DEFINITION_FIELDS}`,
    });
  }
  for (const name of request.fields) {
    if (name === identifier) continue;
    const field = FIELD_NAME.test(name) ? byName.get(name.toLowerCase()) : undefined;
    if (field === undefined) {
      problems.push({
        kind: 'field',
        subject: name,
        message: `${name} is not a contact field of this Eloqua instance`,
      });
    } else if (field.hasReadOnlyConstraint === true) {
      problems.push({
        kind: 'field',
        subject: name,
        message: `${name} (${field.name}) is read-only in Eloqua`,
      });
    }
  }

  const malformed = request.lists.filter((id) => !LIST_ID.test(id));
  for (const id of malformed) {
    problems.push({
      kind: 'list',
      subject: id,
      message: `${id} is not an Eloqua contact list id (a number)`,
    });
  }
  try {
    const missing = await missingLists(
      ctx,
      bulk,
      request.lists.filter((id) => LIST_ID.test(id)),
    );
    for (const id of missing) {
      problems.push({
        kind: 'list',
        subject: id,
        message: `contact list ${id} does not exist in this Eloqua instance`,
      });
    }
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    problems.push({ kind: 'permission', subject: 'lists', message: error.message });
  }
  return { ok: problems.length === 0, problems };
};
