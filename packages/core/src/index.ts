export * from './contract.ts';
export { CONTRACT_VERSION, contractVersionOf, isCompatibleContract } from './contract-version.ts';
export * from './csv.ts';
export * from './define-destination.ts';
export * from './errors.ts';
export * from './http/index.ts';
export * from './logger.ts';
export * from './options.ts';
export * from './pack.ts';
