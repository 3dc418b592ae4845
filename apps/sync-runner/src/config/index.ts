export { type DefinedConfig, defineConfig } from './define-config.ts';
export { type Env, mergeEnvFile, type ResolvedEnv, readEnvFile, resolveEnvReferences } from './env.ts';
export { type ConfigIssue, ConfigLoadError } from './errors.ts';
export { configJsonSchema } from './json-schema.ts';
export {
  CONFIG_FILE_NAMES,
  findConfigFile,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  type ParseConfigOptions,
  parseConfig,
} from './load.ts';
export * from './schema.ts';
export {
  DEFAULT_SANDBOX_ELOQUA_URL,
  DEFAULT_SANDBOX_SENDGRID_URL,
  SANDBOX_ELOQUA_CREDENTIALS,
  type StarterConfigOptions,
  starterConfig,
} from './starter.ts';
