import type { FastifyInstance } from 'fastify';
import { collect, parseCollectionQuery } from './collection.ts';
import { pathId } from './definitions.ts';
import type { ContactList, ContactStore } from './store.ts';
import { eloquaTime, sendFailures, sendNotFound } from './wire.ts';

/**
 * `GET /contacts/lists` and `GET /contacts/lists/{id}`: the contact lists sync actions can name.
 * Oracle's OpenAPI types the bodies as bare objects; the item keys come from Oracle's operation
 * page (`ContactListIndividualResponse`: name, count, statement, uri, createdAt, createdBy,
 * updatedAt, updatedBy).
 */

export interface ListRouteDeps {
  readonly store: ContactStore;
  /** The user who "created" the lists (the sandbox has no list editor). */
  readonly createdBy: string;
}

const listStatement = (id: number): string => `{{ContactList[${id}]}}`;

export const contactListJson = (list: ContactList, createdBy: string): Record<string, unknown> => {
  const stamp = eloquaTime(list.createdAtMs);
  return {
    name: list.name,
    count: list.members.size,
    statement: listStatement(list.id),
    uri: `/contacts/lists/${list.id}`,
    createdAt: stamp,
    createdBy,
    // Lists cannot be renamed here, and membership changes are not edits of the list (UNVERIFIED).
    updatedAt: stamp,
    updatedBy: createdBy,
  };
};

export const registerListRoutes = (scope: FastifyInstance, deps: ListRouteDeps): void => {
  const { store, createdBy } = deps;

  scope.get('/contacts/lists', { config: { endpoint: 'eloqua.lists' } }, async (request, reply) => {
    const query = parseCollectionQuery(request.query as Record<string, string>);
    if (Array.isArray(query)) return sendFailures(reply, query);
    const lists = [...store.lists.values()].sort((a, b) => a.id - b.id);
    return collect(
      lists.map((list) => contactListJson(list, createdBy)),
      query,
    );
  });

  scope.get('/contacts/lists/:id', { config: { endpoint: 'eloqua.list' } }, async (request, reply) => {
    const id = pathId(request.params);
    const list = id === undefined ? undefined : store.lists.get(id);
    return list === undefined ? sendNotFound(reply) : contactListJson(list, createdBy);
  });
};
