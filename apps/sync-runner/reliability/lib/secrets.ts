import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/*
 * The secrets check: every byte of every file the harness and the runner wrote (captures of stdout
 * and stderr, reports, configs, the state databases with their WAL and shared-memory files, and
 * copies of them taken right after kills) is searched for each secret in the forms it could leak
 * in: as is, URL-encoded, form-encoded, and base64 — also inside a longer base64 text such as a
 * Basic authorization header, at any of the three byte alignments.
 */

export interface Needle {
  readonly secret: number;
  readonly form: string;
  readonly bytes: Buffer;
}

/** The base64 characters that depend only on `secret` when it sits `offset` bytes into a longer text. */
const base64Inside = (secret: Buffer, offset: number, alphabet: 'base64' | 'base64url'): string => {
  const encoded = Buffer.concat([Buffer.alloc(offset, 0x20), secret]).toString(alphabet);
  return encoded.slice(Math.ceil(offset / 3) * 4, Math.floor((offset + secret.length) / 3) * 4);
};

export const needlesFor = (secrets: readonly string[]): Needle[] => {
  const needles: Needle[] = [];
  secrets.forEach((secret, index) => {
    const raw = Buffer.from(secret, 'utf8');
    const forms: Record<string, string> = {
      raw: secret,
      'URL-encoded': encodeURIComponent(secret),
      'URL-encoded (lower-case hex)': encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (e) =>
        e.toLowerCase(),
      ),
      'form-encoded': new URLSearchParams({ s: secret }).toString().slice(2),
      'JSON-escaped': JSON.stringify(secret).slice(1, -1),
    };
    for (const alphabet of ['base64', 'base64url'] as const) {
      for (const offset of [0, 1, 2])
        forms[`${alphabet} at offset ${offset}`] = base64Inside(raw, offset, alphabet);
    }
    const seen = new Set<string>();
    for (const [form, text] of Object.entries(forms)) {
      if (text.length < 8 || seen.has(text)) continue;
      seen.add(text);
      needles.push({ secret: index, form, bytes: Buffer.from(text, 'utf8') });
    }
  });
  return needles;
};

export interface SecretFinding {
  readonly file: string;
  readonly secret: number;
  readonly form: string;
  readonly offset: number;
}

export interface SecretScan {
  readonly files: number;
  readonly bytes: number;
  readonly needles: number;
  readonly findings: SecretFinding[];
  /** Files by kind: how many of each were scanned. */
  readonly kinds: Record<string, number>;
}

const kindOf = (path: string): string => {
  if (/\.db-wal$/.test(path)) return 'sqlite WAL';
  if (/\.db-shm$/.test(path)) return 'sqlite shm';
  if (/\.db$/.test(path)) return 'sqlite database';
  if (/\.(stdout|stderr)$/.test(path)) return 'stdout/stderr capture';
  if (/errors\.(csv|json)$/.test(path)) return 'error report';
  if (/\.(csv|jsonl)$/.test(path)) return 'source file';
  return 'other';
};

const walk = (dir: string, out: string[]): string[] => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile()) out.push(path);
  }
  return out;
};

export const scanForSecrets = (root: string, secrets: readonly string[]): SecretScan => {
  const needles = needlesFor(secrets);
  const findings: SecretFinding[] = [];
  const kinds: Record<string, number> = {};
  let bytes = 0;
  const files = walk(root, []);
  for (const file of files) {
    const kind = kindOf(file);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    const content = readFileSync(file);
    bytes += statSync(file).size;
    for (const needle of needles) {
      const offset = content.indexOf(needle.bytes);
      if (offset !== -1)
        findings.push({ file: relative(root, file), secret: needle.secret, form: needle.form, offset });
    }
  }
  return { files: files.length, bytes, needles: needles.length, findings, kinds };
};
