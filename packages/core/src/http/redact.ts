/**
 * Keeps secrets out of error messages and log lines. A secret leaks in more shapes than its raw
 * text: URL-encoded in a query string, JSON-escaped in an echoed body, base64-encoded inside a Basic
 * Authorization value (`user:secret`), so each secret is searched for in all of those forms.
 */

export const REDACTED = '[redacted]';

/** Header names whose values are credentials, whatever they hold. */
const SENSITIVE_HEADER =
  /^(?:authorization|proxy-authorization|cookie|set-cookie)$|api[-_]?key|token|secret|password/i;

export const isSensitiveHeader = (name: string): boolean => SENSITIVE_HEADER.test(name);

/** Base64 forms are only searched for secrets this long, so short secrets cannot match by chance. */
const MIN_BASE64_SECRET_BYTES = 6;

/**
 * The parts of base64 that are the same wherever the secret sits in the encoded input: base64 works
 * on 3-byte groups, so for each of the 3 alignments the characters that mix in neighbouring bytes
 * are dropped from both ends. This is what finds `secret` inside base64(`user:secret`).
 */
const base64Forms = (secret: string): string[] => {
  const bytes = Buffer.from(secret, 'utf8');
  if (bytes.length < MIN_BASE64_SECRET_BYTES) return [];
  const forms: string[] = [];
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const total = offset + bytes.length;
    const start = [0, 2, 3][offset] ?? 0;
    const end = Math.floor(total / 3) * 4 + ([0, 1, 2][total % 3] ?? 0);
    const core = encoded.slice(start, end);
    forms.push(core, core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  return forms;
};

/** Every form in which `secret` may appear in a URL, a body or a header. */
const secretForms = (secret: string): string[] => [
  secret,
  encodeURIComponent(secret),
  encodeURI(secret),
  // URLSearchParams encodes spaces as '+'.
  new URLSearchParams([['', secret]]).toString().slice(1),
  JSON.stringify(secret).slice(1, -1),
  ...base64Forms(secret),
];

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Percent-encoding may use either case for hex digits (`%2f` and `%2F`). */
const toPattern = (form: string): string =>
  escapeRegExp(form).replace(
    /%([0-9A-F])([0-9A-F])/g,
    (_, a: string, b: string) => `%[${a}${a.toLowerCase()}][${b}${b.toLowerCase()}]`,
  );

/** `Authorization: ...` / `"authorization":"..."` wherever it appears in text (echoed requests, dumps). */
const AUTHORIZATION_VALUE = /\b((?:proxy-)?authorization)(["']?\s*[:=]\s*["']?)([^\r\n"']+)/gi;
/** Real tokens hold digits; requiring one keeps prose such as "Bearer token missing" intact. */
const BEARER_TOKEN = /\b(Bearer|Token)\s+(?=[A-Za-z\-._~+/]*\d)[A-Za-z0-9\-._~+/]{8,}=*/gi;
const BASIC_CREDENTIALS = /\b(Basic)\s+([A-Za-z0-9+/]{4,}={0,2})/gi;

/** Base64 that decodes to `user:password` (so prose such as "Basic information" is left alone). */
const isBasicCredentials = (value: string): boolean =>
  value.length % 4 === 0 && Buffer.from(value, 'base64').toString('utf8').includes(':');

/**
 * A function that redacts the given secrets (in all their forms) and any Authorization or
 * Bearer/Basic credential from text. Build it once and reuse it: it compiles one pattern.
 */
export const createRedactor = (secrets: readonly string[]): ((text: string) => string) => {
  const forms = [...new Set(secrets.filter((s) => s.length > 0).flatMap(secretForms))]
    .filter((form) => form.length > 0)
    // Longest first, so a secret that contains another is redacted whole.
    .sort((a, b) => b.length - a.length);
  const pattern = forms.length === 0 ? undefined : new RegExp(forms.map(toPattern).join('|'), 'g');
  return (text) => {
    let out = pattern === undefined ? text : text.replace(pattern, REDACTED);
    out = out.replace(AUTHORIZATION_VALUE, `$1$2${REDACTED}`);
    out = out.replace(BEARER_TOKEN, `$1 ${REDACTED}`);
    out = out.replace(BASIC_CREDENTIALS, (match, scheme: string, value: string) =>
      isBasicCredentials(value) ? `${scheme} ${REDACTED}` : match,
    );
    return out;
  };
};

/** Replaces every secret (raw, URL-encoded, JSON-escaped, base64) and credential header value with `[redacted]`. */
export const redactText = (text: string, secrets: readonly string[] = []): string =>
  createRedactor(secrets)(text);

/**
 * A printable copy of headers: credential headers (Authorization, Cookie, API keys, tokens) become
 * `[redacted]` and secrets are redacted from the others.
 */
export const redactHeaders = (
  headers: Headers | Readonly<Record<string, string>>,
  secrets: readonly string[] = [],
): Record<string, string> => {
  const redact = createRedactor(secrets);
  const entries = headers instanceof Headers ? [...headers.entries()] : Object.entries(headers);
  return Object.fromEntries(
    entries.map(([name, value]) => [name, isSensitiveHeader(name) ? REDACTED : redact(value)]),
  );
};

/**
 * The secret values carried by credential headers: the whole value, its credentials without the
 * scheme, and for Basic auth the decoded `user:password` and the password — so a vendor echoing any
 * of them back is redacted too.
 */
export const secretsFromHeaders = (headers: Readonly<Record<string, string>>): string[] => {
  const found: string[] = [];
  for (const [name, raw] of Object.entries(headers)) {
    const value = raw.trim();
    if (!isSensitiveHeader(name) || value === '') continue;
    found.push(value);
    const scheme = /^([A-Za-z][\w-]*)\s+(\S.*)$/.exec(value);
    const credentials = scheme?.[2];
    if (credentials === undefined) continue;
    found.push(credentials);
    if (scheme?.[1]?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) {
        found.push(decoded);
        if (colon < decoded.length - 1) found.push(decoded.slice(colon + 1));
      }
    }
  }
  return found;
};
