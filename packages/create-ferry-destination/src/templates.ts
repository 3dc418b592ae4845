/** The three shapes of vendor API a destination can be scaffolded for. */
export type TemplateName = 'bulk-csv' | 'bulk-json' | 'batch';

export interface TemplateInfo {
  readonly name: TemplateName;
  /** One line for prompts, --help and the generated README. */
  readonly summary: string;
  /** Template folders layered in order over `common` (later files replace earlier ones). */
  readonly layers: readonly string[];
  readonly capabilities: { readonly delete: boolean; readonly lists: boolean; readonly callbacks: boolean };
  readonly maxProfilesPerJob: number;
  readonly maxBytesPerJob: number;
  /** Content type of the upload, for the bulk templates. */
  readonly contentType?: string;
}

const MiB = 1024 * 1024;

export const TEMPLATES: Readonly<Record<TemplateName, TemplateInfo>> = {
  'bulk-json': {
    name: 'bulk-json',
    summary: 'asynchronous bulk import of NDJSON records: submit → import id → poll its status',
    layers: ['common', 'bulk', 'bulk-json'],
    capabilities: { delete: true, lists: true, callbacks: false },
    maxProfilesPerJob: 10_000,
    maxBytesPerJob: 4 * MiB,
    contentType: 'application/x-ndjson',
  },
  'bulk-csv': {
    name: 'bulk-csv',
    summary: 'asynchronous bulk import of a CSV file: submit → import id → poll its status',
    layers: ['common', 'bulk', 'bulk-csv'],
    capabilities: { delete: false, lists: false, callbacks: false },
    maxProfilesPerJob: 50_000,
    maxBytesPerJob: 8 * MiB,
    contentType: 'text/csv',
  },
  batch: {
    name: 'batch',
    summary: 'synchronous batch endpoint answering per record: results at submission',
    layers: ['common', 'batch'],
    capabilities: { delete: true, lists: true, callbacks: false },
    maxProfilesPerJob: 1_000,
    maxBytesPerJob: 1 * MiB,
  },
};

export const isTemplateName = (value: string): value is TemplateName => Object.hasOwn(TEMPLATES, value);
