import { AuthError, type VerifyProblem, type VerifyRequest, type VerifyResult } from '@ferry/core';
import { type __PASCAL__Context, vendorApi } from '../client.ts';

/**
 * "Test connection" (`ferry verify`): the key is accepted, and the fields and lists the config maps
 * to exist at the vendor. Problems are returned, not thrown, so the user sees all of them at once;
 * only a failure to ask (the vendor down, rate limited) is thrown.
 */
export const verifyAccount = async (ctx: __PASCAL__Context, request: VerifyRequest): Promise<VerifyResult> => {
  const api = vendorApi(ctx);
  try {
    await api.request({ method: 'GET', url: 'me', operation: 'verify API key' });
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    // core's client built the message from the vendor's refusal, with the key redacted.
    return { ok: false, problems: [{ kind: 'auth', subject: 'apiKey', message: error.message }] };
  }
  const problems: VerifyProblem[] = [];
  if (request.fields.length > 0) {
    const { data } = await api.request<{ fields: { name: string }[] }>({
      method: 'GET',
      url: 'fields',
      operation: 'list fields',
    });
    const known = new Set(data.fields.map((field) => field.name));
    for (const field of request.fields) {
      if (!known.has(field)) problems.push({ kind: 'field', subject: field, message: `no field named ${field}` });
    }
  }
  if (request.lists.length > 0) {
    const { data } = await api.request<{ lists: { id: string }[] }>({
      method: 'GET',
      url: 'lists',
      operation: 'list lists',
    });
    const known = new Set(data.lists.map((list) => list.id));
    for (const list of request.lists) {
      if (!known.has(list)) problems.push({ kind: 'list', subject: list, message: `no list with id ${list}` });
    }
  }
  return { ok: problems.length === 0, problems };
};
