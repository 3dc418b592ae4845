export {
  type CompiledMapping,
  compileMapping,
  type MapResult,
  mappingColumns,
  mapRecord,
} from './compile.ts';
export { type Transform, TransformFailure, transformFor } from './transforms.ts';
