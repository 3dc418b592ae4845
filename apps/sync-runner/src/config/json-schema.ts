import { z } from 'zod';
import { configSchema } from './schema.ts';

/**
 * JSON Schema (draft 2020-12) of the config as written — defaults optional, environment references
 * allowed — for editor completion in `ferry.config.json` (`"$schema": "./ferry.config.schema.json"`)
 * and YAML (`# yaml-language-server: $schema=./ferry.config.schema.json`). The committed
 * `ferry.config.schema.json` is this output; a test fails when it is stale.
 */
export const configJsonSchema = (): Record<string, unknown> =>
  z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
