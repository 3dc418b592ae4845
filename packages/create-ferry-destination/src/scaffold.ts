import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTemplateName, TEMPLATES, type TemplateInfo, type TemplateName } from './templates.ts';

/*
 * Writes a standalone destination package from the templates: the files of each layer of the
 * chosen template (common, then the API shape's), with the placeholders (__NAME__, __IDENT__, ...)
 * replaced. Pure file work, no prompts: the CLIs (create-ferry-destination and `ferry create
 * destination`) ask the questions and call this.
 */

export interface ScaffoldOptions {
  /** Machine name, e.g. `acme` or `acme-crm`: lower-case letters, digits and dashes. */
  readonly name: string;
  /** Where to write; must be missing or empty. Default `./ferry-destination-<name>` under `cwd`. */
  readonly dir?: string;
  readonly template?: TemplateName;
  /** npm package name. Default `ferry-destination-<name>`. */
  readonly packageName?: string;
  /** Human name. Default: the name, words capitalised. */
  readonly displayName?: string;
  /**
   * The `@ferry/core` version range (peer and dev dependency). Default `^<this package's version>`
   * (Ferry's packages are versioned together). A `file:` spec installs a local tarball.
   */
  readonly coreSpec?: string;
  readonly cwd?: string;
}

export interface ScaffoldResult {
  readonly dir: string;
  readonly packageName: string;
  readonly template: TemplateName;
  /** Paths written, relative to `dir`, sorted. */
  readonly files: readonly string[];
}

/** Errors the CLI prints as they are (no stack): a bad name, a non-empty folder. */
export class ScaffoldError extends Error {
  override name = 'ScaffoldError';
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const PACKAGE_NAME = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;
const ZOD_VERSION = '4.6.7';

const templatesRoot = fileURLToPath(new URL('../templates/', import.meta.url));

const ownVersion = (): string =>
  (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;

const words = (name: string): string[] => name.split('-');
const camel = (name: string): string =>
  words(name)
    .map((word, index) => (index === 0 ? word : word.charAt(0).toUpperCase() + word.slice(1)))
    .join('');
const pascal = (name: string): string => camel(name).charAt(0).toUpperCase() + camel(name).slice(1);

const formatBytes = (bytes: number): string =>
  bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes.toLocaleString('en-US')} bytes`;

const capabilityRows = (info: TemplateInfo): string =>
  [
    `| upsert | yes |`,
    `| delete (mirror mode) | ${info.capabilities.delete ? 'yes' : 'no'} |`,
    `| list membership | ${info.capabilities.lists ? 'yes' : 'no'} |`,
    `| vendor callbacks | ${info.capabilities.callbacks ? 'yes' : 'no'} |`,
    `| profiles per job | ${info.maxProfilesPerJob.toLocaleString('en-US')} (option \`limits.maxProfilesPerJob\`) |`,
    `| bytes per job | ${formatBytes(info.maxBytesPerJob)} (option \`limits.maxBytesPerJob\`) |`,
    `| jobs in flight | 4 (option \`limits.maxJobsInFlight\`) |`,
    `| longest text value | 255 characters (rejected at submission beyond) |`,
  ].join('\n');

/**
 * `_gitignore` → `.gitignore` (npm leaves .gitignore out of published packages) and `_package.json`
 * → `package.json` (a nested package.json in the templates would be read as a package of its own).
 */
const targetName = (file: string): string =>
  file.replace(/(^|\/)_(gitignore|github)/g, '$1.$2').replace(/(^|\/)_package\.json$/, '$1package.json');

const listFiles = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/'));
};

export const scaffoldDestination = async (options: ScaffoldOptions): Promise<ScaffoldResult> => {
  const { name } = options;
  if (!NAME.test(name)) {
    throw new ScaffoldError(
      `invalid destination name ${JSON.stringify(name)}: use lower-case letters, digits and dashes, starting with a letter (e.g. acme or acme-crm)`,
    );
  }
  const template = options.template ?? 'bulk-json';
  if (!isTemplateName(template)) {
    throw new ScaffoldError(
      `unknown template ${JSON.stringify(template)}; choose one of ${Object.keys(TEMPLATES).join(', ')}`,
    );
  }
  const info = TEMPLATES[template];
  const packageName = options.packageName ?? `ferry-destination-${name}`;
  if (!PACKAGE_NAME.test(packageName))
    throw new ScaffoldError(`invalid npm package name ${JSON.stringify(packageName)}`);
  const dir = resolve(options.cwd ?? process.cwd(), options.dir ?? `ferry-destination-${name}`);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    throw new ScaffoldError(`${dir} is not empty; choose another folder (--dir) or empty it first`);
  }

  const displayName =
    options.displayName ??
    words(name)
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join(' ');
  const replacements: Record<string, string> = {
    __PACKAGE__: packageName,
    __DISPLAY__: displayName,
    __NAME__: name,
    __IDENT__: camel(name),
    __PASCAL__: pascal(name),
    __ENV_PREFIX__: name.toUpperCase().replace(/-/g, '_'),
    __TEMPLATE_SUMMARY__: info.summary,
    __TEMPLATE__: template,
    __CORE_RANGE__: options.coreSpec ?? `^${ownVersion()}`,
    __ZOD_VERSION__: ZOD_VERSION,
    __DEFAULT_MAX_PROFILES__: String(info.maxProfilesPerJob),
    __DEFAULT_MAX_BYTES_TEXT__: formatBytes(info.maxBytesPerJob),
    __DEFAULT_MAX_BYTES__: String(info.maxBytesPerJob),
    __IMPORT_CONTENT_TYPE__: info.contentType ?? '',
    __CAPABILITY_ROWS__: capabilityRows(info),
  };
  // Longest first, so __DEFAULT_MAX_BYTES_TEXT__ is not eaten by __DEFAULT_MAX_BYTES__.
  const pattern = new RegExp(
    Object.keys(replacements)
      .sort((a, b) => b.length - a.length)
      .join('|'),
    'g',
  );
  const fill = (text: string): string => text.replace(pattern, (key) => replacements[key] ?? key);

  const files = new Map<string, string>();
  for (const layer of info.layers) {
    const layerDir = join(templatesRoot, layer);
    for (const file of await listFiles(layerDir)) files.set(targetName(file), join(layerDir, file));
  }
  for (const [file, source] of files) {
    const target = join(dir, file);
    await mkdir(join(target, '..'), { recursive: true });
    await writeFile(target, fill(await readFile(source, 'utf8')));
  }
  return { dir, packageName, template, files: [...files.keys()].sort() };
};
