import { AuthError, type VerifyProblem, type VerifyRequest, type VerifyResult } from '@ferry/core';
import type { SendgridContext } from '../client.ts';
import { fieldKind } from '../fields.ts';
import { getFieldDefinitions } from './field-definitions.ts';
import { listIds } from './lists.ts';

const LIST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * "Test connection": the key works (reading field definitions needs it and the Marketing read
 * permission), every mapped field is a writable reserved field or a custom field that exists (by
 * name, case-insensitively, as SendGrid compares them), and every list exists — the lists of the
 * request and `options.listIds`. Problems are returned together; only a failure to ask (network,
 * rate limit, 5xx) is thrown.
 */
export const verifyAccount = async (ctx: SendgridContext, request: VerifyRequest): Promise<VerifyResult> => {
  const problems: VerifyProblem[] = [];
  let definitions: Awaited<ReturnType<typeof getFieldDefinitions>> | undefined;
  try {
    definitions = await getFieldDefinitions(ctx, { fresh: true });
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    // The message comes from SendGrid's refusal and is redacted by core; it never holds the key.
    problems.push({
      kind: error.status === 403 ? 'permission' : 'auth',
      subject: 'apiKey',
      message:
        error.status === 403
          ? `the API key lacks a Marketing permission (field definitions): ${error.message}`
          : error.message,
    });
    return { ok: false, problems };
  }

  for (const field of new Set(request.fields)) {
    const kind = fieldKind(field);
    if (kind === 'read_only') {
      problems.push({
        kind: 'field',
        subject: field,
        message: `${field} is maintained by SendGrid and cannot be set`,
      });
    } else if (kind === 'custom' && !definitions.custom.has(field.toLowerCase())) {
      problems.push({
        kind: 'field',
        subject: field,
        message: `no custom field named ${field} in SendGrid (create it under Marketing → Custom Fields)`,
      });
    }
  }

  const wanted = [...new Set([...ctx.options.listIds, ...request.lists])];
  const malformed = wanted.filter((id) => !LIST_ID.test(id));
  for (const id of malformed) {
    problems.push({
      kind: 'list',
      subject: id,
      message: `${id} is not a SendGrid list id (list ids are UUIDs)`,
    });
  }
  const checkable = wanted.filter((id) => LIST_ID.test(id));
  if (checkable.length > 0) {
    try {
      const existing = await listIds(ctx);
      for (const id of checkable) {
        if (!existing.has(id))
          problems.push({ kind: 'list', subject: id, message: `list ${id} does not exist` });
      }
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      problems.push({
        kind: 'permission',
        subject: 'apiKey',
        message: `cannot read lists: ${error.message}`,
      });
    }
  }
  return { ok: problems.length === 0, problems };
};
