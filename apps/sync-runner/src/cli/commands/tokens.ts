import { jsonDocument, jsonError } from '../../report/json-output.ts';
import { formatTable } from '../../report/table.ts';
import { createToken } from '../../service/tokens.ts';
import type { TokenScope } from '../../store/service-store.ts';
import type { StateStore } from '../../store/state-store.ts';
import { type CommandIO, errorMessage } from '../io.ts';
import { openCommandStore, type StoreOptions } from './setup.ts';

export interface TokensCommandOptions extends StoreOptions {
  readonly json?: boolean;
}

const run = async (
  command: 'tokens',
  options: TokensCommandOptions,
  io: CommandIO,
  body: (store: StateStore) => Promise<number>,
): Promise<number> => {
  let store: StateStore | undefined;
  try {
    store = await openCommandStore(options, io);
    return await body(store);
  } catch (error) {
    if (options.json === true) io.stdout.write(jsonError(command, errorMessage(error)));
    io.stderr.write(`${errorMessage(error)}\n`);
    return 1;
  } finally {
    await store?.close();
  }
};

/** `ferry tokens create`: prints the token once; the store keeps only its hash. */
export const tokensCreateCommand = (
  options: TokensCommandOptions & { readonly scope: TokenScope; readonly name?: string },
  io: CommandIO,
): Promise<number> =>
  run('tokens', options, io, async (store) => {
    const { token, record } = await createToken(store, {
      scope: options.scope,
      ...(options.name === undefined ? {} : { name: options.name }),
    });
    if (options.json === true)
      io.stdout.write(
        jsonDocument('tokens', 0, { token, id: record.id, scope: record.scope, name: record.name }),
      );
    else
      io.stdout.write(
        `${token}\n\nToken ${record.id} (scope ${record.scope}) created. It is shown only now: keep it in a secret store.\n`,
      );
    return 0;
  });

export const tokensListCommand = (options: TokensCommandOptions, io: CommandIO): Promise<number> =>
  run('tokens', options, io, async (store) => {
    const tokens = await store.listTokens();
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    if (options.json === true) {
      io.stdout.write(
        jsonDocument('tokens', 0, {
          tokens: tokens.map((t) => ({ ...t, createdAt: iso(t.createdAt), revokedAt: iso(t.revokedAt) })),
        }),
      );
      return 0;
    }
    if (tokens.length === 0)
      io.stdout.write('No tokens. Create one with `ferry tokens create --scope read|write`.\n');
    else
      io.stdout.write(
        formatTable(
          [
            { header: 'id', value: (t) => t.id },
            { header: 'scope', value: (t) => t.scope },
            { header: 'name', value: (t) => t.name, maxWidth: 40 },
            { header: 'created', value: (t) => iso(t.createdAt) },
            { header: 'revoked', value: (t) => iso(t.revokedAt) ?? '' },
          ],
          tokens,
        ),
      );
    return 0;
  });

export const tokensRevokeCommand = (
  id: string,
  options: TokensCommandOptions,
  io: CommandIO,
): Promise<number> =>
  run('tokens', options, io, async (store) => {
    if (!(await store.revokeToken(id, Date.now())))
      throw new Error(`[ferry] no active token ${JSON.stringify(id)}`);
    if (options.json === true) io.stdout.write(jsonDocument('tokens', 0, { id }));
    else io.stdout.write(`Token ${id} revoked.\n`);
    return 0;
  });
