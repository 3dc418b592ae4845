/**
 * The version of the destination contract (the `Destination` interface and its semantics), separate
 * from the package version: core can ship fixes and new helpers without breaking plugins. A plugin
 * built with contract 1.x runs on any runner whose core speaks contract 1.y; a new major means a
 * plugin must be rebuilt against the new contract. `defineDestination` stamps this on every
 * destination it returns, so a runner can tell a real destination (and which contract it was built
 * for) from any other export.
 */
export const CONTRACT_VERSION = '1.0.0';

/*
 * A registered symbol, not a module-local one: a plugin installed with its own copy of @ferry/core
 * (a different version, or a second copy in node_modules) stamps the same key the runner reads.
 */
const CONTRACT_KEY: unique symbol = Symbol.for('ferry.destination.contract') as never;

/** Stamps `value` as made by `defineDestination` for this contract version (non-enumerable: JSON and spreads ignore it). */
export const stampContract = <T extends object>(value: T): T => {
  if (!Object.hasOwn(value, CONTRACT_KEY)) {
    Object.defineProperty(value, CONTRACT_KEY, { value: CONTRACT_VERSION, enumerable: false });
  }
  return value;
};

/** The contract version `value` was made for by `defineDestination`, or `undefined` when it was not. */
export const contractVersionOf = (value: unknown): string | undefined => {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  const version = (value as Record<symbol, unknown>)[CONTRACT_KEY];
  return typeof version === 'string' ? version : undefined;
};

const majorOf = (version: string): number | undefined => {
  const match = /^(\d+)\./.exec(version);
  return match === null ? undefined : Number(match[1]);
};

/** True when a destination built for contract `version` runs with this core (same major). */
export const isCompatibleContract = (version: string, current: string = CONTRACT_VERSION): boolean => {
  const major = majorOf(version);
  return major !== undefined && major === majorOf(current);
};
