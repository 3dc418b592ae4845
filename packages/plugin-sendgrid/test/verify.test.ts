import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendgrid } from '../src/index.ts';
import { API, API_KEY, contextFor, fixture, LIST_A, LIST_B } from './support.ts';

/** verify: the key, the mapped fields (by name), the lists. */

const DEFINITIONS = fixture('field-definitions/definitions.json');

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every mocked call was made').toEqual([]);
});
afterAll(() => nock.enableNetConnect());

const mockLists = () => {
  nock(API).get('/v3/marketing/lists').query({ page_size: '1000' }).reply(200, fixture('lists/page-1.json'));
  nock(API)
    .get('/v3/marketing/lists')
    .query({ page_size: '1000', page_token: 'b2Zmc2V0OjE' })
    .reply(200, fixture('lists/page-2.json'));
};

describe('verify', () => {
  it('ok: reserved fields, custom fields by name (any case), and lists found across pages', async () => {
    nock(API).get('/v3/marketing/field_definitions').reply(200, DEFINITIONS);
    mockLists();
    const result = await sendgrid.verify(contextFor({ listIds: [LIST_A] }), {
      fields: ['email', 'first_name', 'City', 'notes', 'BIRTHDAY'],
      lists: [LIST_B],
    });
    expect(result).toEqual({ ok: true, problems: [] });
  });

  it('names every problem at once: unknown and read-only fields, missing and malformed lists', async () => {
    nock(API).get('/v3/marketing/field_definitions').reply(200, DEFINITIONS);
    mockLists();
    const missing = '11111111-2222-4333-8444-555555555555';
    const result = await sendgrid.verify(contextFor(), {
      fields: ['first_name', 'favourite_colour', 'last_opened'],
      lists: [missing, 'newsletter', LIST_A],
    });
    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([
      {
        kind: 'field',
        subject: 'favourite_colour',
        message: expect.stringContaining('no custom field named'),
      },
      { kind: 'field', subject: 'last_opened', message: expect.stringContaining('maintained by SendGrid') },
      { kind: 'list', subject: 'newsletter', message: expect.stringContaining('not a SendGrid list id') },
      { kind: 'list', subject: missing, message: `list ${missing} does not exist` },
    ]);
  });

  it('a refused key is an auth problem, without the key in the message', async () => {
    nock(API).get('/v3/marketing/field_definitions').reply(401, fixture('auth/unauthorized.json'));
    const result = await sendgrid.verify(contextFor(), { fields: [], lists: [] });
    expect(result).toEqual({
      ok: false,
      problems: [
        {
          kind: 'auth',
          subject: 'apiKey',
          message: expect.stringContaining('authorization grant is invalid'),
        },
      ],
    });
    expect(JSON.stringify(result)).not.toContain(API_KEY);
  });

  it('a key without the Marketing permission (403) is a permission problem', async () => {
    nock(API)
      .get('/v3/marketing/field_definitions')
      .reply(403, { errors: [{ field: null, message: 'access forbidden' }] });
    const result = await sendgrid.verify(contextFor(), { fields: [], lists: [] });
    expect(result.problems).toEqual([{ kind: 'permission', subject: 'apiKey', message: expect.any(String) }]);
  });

  it('could not ask (5xx): throws, for the runner to retry', async () => {
    nock(API)
      .get('/v3/marketing/field_definitions')
      .reply(500, { errors: [{ message: 'boom' }] });
    await expect(sendgrid.verify(contextFor(), { fields: [], lists: [] })).rejects.toMatchObject({
      kind: 'transient',
    });
  });
});
