import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

/*
 * Hand-written SQL for the statements that run once per profile: reading states, marking ids seen,
 * writing job members. Kysely's builder allocates an operation tree per row and value, which for a
 * million profiles costs more than SQLite itself, so these statements are text built once per shape
 * and cached. Placeholders are positional: `?` in SQLite (node:sqlite binds numbered `?NNN` ones
 * about 30 times slower), `$n` in PostgreSQL. Everything else uses the builder.
 */

export type Dialect = 'sqlite' | 'postgres';
type Db = Kysely<Database> | Transaction<Database>;

/** Placeholder of the i-th parameter of a statement (1-based). */
export type Placeholder = (index: number) => string;

export interface RowsShape {
  /** `INSERT INTO t (a, b, c)`. */
  readonly head: string;
  /** Parameters per row, in the order `row` places them. */
  readonly perRow: number;
  /** One row, e.g. `(${p()}, ${p()}, NULL)`: each `p()` is the row's next parameter. */
  readonly row: (p: () => string) => string;
  /** `ON CONFLICT ...`, `RETURNING ...`. */
  readonly tail?: string;
}

export interface BulkSql {
  readonly dialect: Dialect;
  readonly placeholder: Placeholder;
  /** Runs one statement; `affected` is the number of rows inserted, updated or deleted. */
  readonly run: <Row>(
    db: Db,
    sql: string,
    parameters: readonly unknown[],
  ) => Promise<{ rows: Row[]; affected: number }>;
  /** `head VALUES (...), (...) tail` for `rows` rows, built once per name and row count. */
  readonly values: (name: string, rows: number, shape: RowsShape) => string;
  /** `(p, p, ...)`: an IN list of `count` parameters after the statement's first `before`, built once per count. */
  readonly inList: (count: number, before: number) => string;
}

export const createBulkSql = (dialect: Dialect): BulkSql => {
  const placeholder: Placeholder = dialect === 'sqlite' ? () => '?' : (index) => `$${index}`;
  const cache = new Map<string, string>();
  const cached = (key: string, make: () => string): string => {
    let text = cache.get(key);
    if (text === undefined) {
      text = make();
      // Shapes are few (a handful of statements × the chunk sizes in use), but keep the map bounded.
      if (cache.size > 512) cache.clear();
      cache.set(key, text);
    }
    return text;
  };
  return {
    dialect,
    placeholder,
    run: async <Row>(db: Db, sql: string, parameters: readonly unknown[]) => {
      const result = await db.executeQuery<Row>(CompiledQuery.raw(sql, parameters as unknown[]));
      return { rows: result.rows as Row[], affected: Number(result.numAffectedRows ?? 0) };
    },
    values: (name, rows, shape) =>
      cached(`values:${name}:${rows}`, () => {
        const parts: string[] = [];
        let next = 0;
        const p = (): string => {
          next += 1;
          return placeholder(next);
        };
        for (let index = 0; index < rows; index += 1) parts.push(shape.row(p));
        if (next !== rows * shape.perRow)
          throw new Error(`[ferry] bulk SQL ${name}: expected ${shape.perRow} parameters per row`);
        return `${shape.head} VALUES ${parts.join(', ')}${shape.tail === undefined ? '' : ` ${shape.tail}`}`;
      }),
    inList: (count, before) =>
      cached(`in:${count}:${before}`, () => {
        const list: string[] = [];
        for (let index = 1; index <= count; index += 1) list.push(placeholder(before + index));
        return `(${list.join(', ')})`;
      }),
  };
};
