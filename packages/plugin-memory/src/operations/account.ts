import { AuthError, type VerifyProblem, type VerifyRequest, type VerifyResult } from '@ferry/core';
import { callVendor, type MemoryContext } from '../client.ts';
import { vendorWhoAmI } from '../store.ts';

/** The vendor's field and list naming rules (like a CRM's API names). */
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const LIST_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * "Test connection": the key is accepted, and the fields and lists the config maps to are ones this
 * vendor can hold. Problems are returned, not thrown, so the user sees all of them at once; only a
 * failure to ask (the vendor down, rate limited) is thrown, for the runner to report or retry.
 */
export const verifyAccount = async (ctx: MemoryContext, request: VerifyRequest): Promise<VerifyResult> => {
  const problems: VerifyProblem[] = [];
  try {
    await callVendor(ctx, 'verify API key', vendorWhoAmI);
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    // The message comes from the vendor's refusal; it never contains the key.
    problems.push({ kind: 'auth', subject: 'apiKey', message: error.message });
  }
  for (const field of request.fields) {
    if (!FIELD_NAME.test(field)) {
      problems.push({
        kind: 'field',
        subject: field,
        message: `${field} is not a valid field name (${FIELD_NAME})`,
      });
    }
  }
  for (const list of request.lists) {
    if (!LIST_ID.test(list)) {
      problems.push({ kind: 'list', subject: list, message: `${list} is not a valid list id (${LIST_ID})` });
    }
  }
  return { ok: problems.length === 0, problems };
};
