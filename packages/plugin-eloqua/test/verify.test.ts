import { TransientError } from '@ferry/core';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eloqua } from '../src/index.ts';
import { BULK_PATH, context, envelope, fixture, LOGIN, mockId, POD } from './helpers.ts';

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

const mockFields = () =>
  nock(POD)
    .get(`${BULK_PATH}/contacts/fields`)
    .query({ limit: '1000', offset: '0' })
    .reply(200, fixture('fields/contact-fields.json'));

/** Lists answered by `GET /contacts/lists/{id}` (Oracle's OpenAPI). */
const mockLists = (existing: readonly string[], asked: readonly string[]) => {
  nock(POD).get(`${BULK_PATH}/contacts/lists`).query({ limit: '1' }).reply(200, envelope([]));
  for (const id of asked) {
    nock(POD)
      .get(`${BULK_PATH}/contacts/lists/${id}`)
      .reply(
        existing.includes(id) ? 200 : 404,
        existing.includes(id) ? { uri: `/contacts/lists/${id}` } : '',
      );
  }
};

describe('verify', () => {
  it('passes when the credentials work and every field and list exists', async () => {
    mockId();
    mockFields();
    mockLists(['12', '13'], ['12', '13']);
    expect(
      await eloqua.verify(context(), { fields: ['C_EmailAddress', 'c_firstname'], lists: ['12', '13'] }),
    ).toEqual({ ok: true, problems: [] });
  });

  it('names every missing or read-only field, each missing list, and a bad identifier', async () => {
    mockId();
    mockFields();
    mockLists(['12'], ['12', '99']);
    const result = await eloqua.verify(context({ identifierField: 'C_Is_Customer1' }), {
      fields: ['C_EmailAddress', 'C_Nope', 'C_DateCreated', 'First Name'],
      lists: ['12', '99', 'newsletter'],
    });
    expect(result.ok).toBe(false);
    expect(result.problems.map((problem) => [problem.kind, problem.subject])).toEqual([
      ['option', 'identifierField'],
      ['field', 'C_Nope'],
      ['field', 'C_DateCreated'],
      ['field', 'First Name'],
      ['list', 'newsletter'],
      ['list', '99'],
    ]);
    expect(result.problems[0]?.message).toContain('C_Is_Customer1 is a boolean field');
    expect(result.problems[2]?.message).toBe('C_DateCreated (Date Created) is read-only in Eloqua');
  });

  it('reports refused credentials as one auth problem, without the password', async () => {
    nock(LOGIN).get('/id').reply(200, '"Not authenticated."', { 'content-type': 'application/json' });
    const result = await eloqua.verify(context(), { fields: ['C_EmailAddress'], lists: [] });
    expect(result).toEqual({
      ok: false,
      problems: [
        {
          kind: 'auth',
          subject: 'auth',
          message: '[ferry] [eloqua] Eloqua refused the credentials (GET /id answered "Not authenticated.")',
        },
      ],
    });
  });

  it('throws when it could not ask (Eloqua down), rather than report a problem', async () => {
    nock(LOGIN).get('/id').times(3).reply(503);
    await expect(eloqua.verify(context(), { fields: [], lists: [] })).rejects.toBeInstanceOf(TransientError);
  });

  it('probes lists with a throwaway definition where GET /contacts/lists is unknown', async () => {
    mockId();
    mockFields();
    nock(POD)
      .get(`${BULK_PATH}/contacts/lists`)
      .query(true)
      .reply(404, 'The requested resource was not found.');
    let probe: { syncActions?: unknown; autoDeleteDuration?: string } = {};
    nock(POD)
      .post(`${BULK_PATH}/contacts/imports`)
      .reply(async (request: Request) => {
        probe = JSON.parse(await request.text()) as typeof probe;
        return [
          400,
          {
            failures: [
              {
                field: 'syncActions[1].destination',
                value: '{{ContactList[99]}}',
                constraint: 'Must reference an existing contact list.',
              },
            ],
          },
        ];
      });
    const result = await eloqua.verify(context(), { fields: [], lists: ['12', '99'] });
    expect(probe).toMatchObject({
      autoDeleteDuration: 'PT1H',
      syncActions: [
        { action: 'add', destination: '{{ContactList[12]}}' },
        { action: 'add', destination: '{{ContactList[99]}}' },
      ],
    });
    expect(result.problems).toEqual([
      { kind: 'list', subject: '99', message: 'contact list 99 does not exist in this Eloqua instance' },
    ]);
  });

  it('deletes the probe definition when every list exists', async () => {
    mockId();
    mockFields();
    nock(POD).get(`${BULK_PATH}/contacts/lists`).query(true).reply(404);
    nock(POD)
      .post(`${BULK_PATH}/contacts/imports`)
      .reply(201, { ...fixture<object>('imports/definition-created.json'), uri: '/contacts/imports/77' });
    const deleted = nock(POD).delete(`${BULK_PATH}/contacts/imports/77`).reply(204);
    expect(await eloqua.verify(context(), { fields: [], lists: ['12'] })).toEqual({ ok: true, problems: [] });
    deleted.done();
  });
});
