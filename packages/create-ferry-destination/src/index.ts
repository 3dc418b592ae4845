export { type CreateCliIO, runCreateCli } from './run-cli.ts';
export { ScaffoldError, type ScaffoldOptions, type ScaffoldResult, scaffoldDestination } from './scaffold.ts';
export { isTemplateName, TEMPLATES, type TemplateInfo, type TemplateName } from './templates.ts';
