/**
 * Deterministic customer profiles as a CSV file, for the sync benchmark: the same seed and row count
 * always give the same bytes, so runs on different days and machines compare.
 *
 * Columns look like a CRM export: unique ids and e-mail addresses, names with accents and
 * apostrophes, companies and street addresses that need CSV quoting, typed columns (numbers, dates,
 * booleans) and a sparse free-text `notes` column with quotes, commas and the odd line break. Rows
 * average about 300 bytes.
 *
 *   pnpm exec node bench/profiles.ts 100000      (writes bench-data/profiles-100000.csv)
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bump when the generator's output changes, so cached files are regenerated. */
const GENERATOR_VERSION = 1;

export const BENCH_DATA_DIR = fileURLToPath(new URL('../bench-data/', import.meta.url));

export const COLUMNS = [
  'id',
  'email',
  'first_name',
  'last_name',
  'company',
  'job_title',
  'phone',
  'address',
  'city',
  'state',
  'postal_code',
  'country',
  'industry',
  'employees',
  'plan',
  'signup_date',
  'last_order_at',
  'orders',
  'lifetime_value',
  'is_customer',
  'notes',
] as const;

/** mulberry32: small, fast, and the same on every platform. */
const createRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Zoë',
  'José',
  'Ólafur',
  'Mei',
  'Aarav',
  'Fatima',
  'Liam',
  'Chloé',
  'Søren',
  'Noah',
  'Emma',
  'Olivia',
  'Lucas',
  'Sofia',
  'Mateo',
  'Isabella',
  'Hiroshi',
  'Amara',
  'Dmitri',
  'Priya',
  'Kwame',
  'Ingrid',
  'Mohammed',
  'Anna-Lena',
  'Jean-Luc',
  'Siobhán',
  'Björn',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  "O'Brien",
  'García',
  'Nguyen',
  'Müller',
  'Kowalski',
  'Smith-Jones',
  'Johansson',
  'Okafor',
  'Tanaka',
  'Rossi',
  'Dubois',
  'van der Berg',
  'MacDonald',
  'Papadopoulos',
  'Fernández',
  'Kim',
  'Novák',
  'Haddad',
  'Søndergaard',
  'Williams',
  'Schmidt',
  'Ivanova',
  "D'Angelo",
];
const COMPANY_STEMS = [
  'Northwind',
  'Contoso',
  'Fabrikam',
  'Globex',
  'Initech',
  'Umbrella',
  'Stark',
  'Wayne',
  'Acme',
  'Tyrell',
  'Cyberdyne',
  'Soylent',
  'Hooli',
  'Vandelay',
  'Wonka',
  'Blue Sun',
];
const COMPANY_SUFFIXES = [
  'Inc.',
  'LLC',
  'GmbH',
  'Ltd',
  'S.A.',
  'Analytics',
  'Logistics, Inc.',
  '& Partners',
  'Holdings plc',
  'Software AB',
];
const TITLES = [
  'Marketing Manager',
  'VP of Sales',
  'Software Engineer',
  'Head of Growth',
  'CFO',
  'Customer Success Lead',
  'Operations Analyst',
  'Founder & CEO',
  'Procurement Specialist',
  'Director, Product Marketing',
];
const STREETS = ['Maple', 'Oak', 'High', 'Station', 'Church', 'Park', 'Victoria', 'König', 'Rue de la Paix'];
const STREET_TYPES = ['Street', 'Avenue', 'Road', 'Lane', 'Boulevard', 'Way'];
/** city, state/region, postal code pattern (# digit, A letter), country, phone prefix */
const PLACES: readonly (readonly [string, string, string, string, string])[] = [
  ['New York', 'NY', '100##', 'United States', '+1 212'],
  ['San Francisco', 'CA', '941##', 'United States', '+1 415'],
  ['Austin', 'TX', '787##', 'United States', '+1 512'],
  ['Washington, D.C.', 'DC', '200##', 'United States', '+1 202'],
  ['Toronto', 'ON', 'M5V #A#', 'Canada', '+1 416'],
  ['Montréal', 'QC', 'H2X #A#', 'Canada', '+1 514'],
  ['London', 'England', 'EC1A #AA', 'United Kingdom', '+44 20'],
  ['Manchester', 'England', 'M1 #AA', 'United Kingdom', '+44 161'],
  ['Dublin', 'Leinster', 'D02 A###', 'Ireland', '+353 1'],
  ['Zürich', 'ZH', '80##', 'Switzerland', '+41 44'],
  ['München', 'Bayern', '80###', 'Germany', '+49 89'],
  ['Paris', 'Île-de-France', '750##', 'France', '+33 1'],
  ['Amsterdam', 'Noord-Holland', '10## AA', 'Netherlands', '+31 20'],
  ['Kraków', 'Małopolskie', '30-###', 'Poland', '+48 12'],
  ['São Paulo', 'SP', '01###-###', 'Brazil', '+55 11'],
  ['Tokyo', 'Tokyo', '100-####', 'Japan', '+81 3'],
  ['Sydney', 'NSW', '2000', 'Australia', '+61 2'],
  ['Lagos', 'Lagos', '1000##', 'Nigeria', '+234 1'],
];
const INDUSTRIES = [
  'Software',
  'Retail',
  'Financial Services',
  'Healthcare',
  'Manufacturing',
  'Education',
  'Media & Entertainment',
  'Logistics',
];
const PLANS = ['free', 'starter', 'pro', 'business', 'enterprise'];
const DOMAINS = ['example.com', 'mail.example.org', 'corp.example.net', 'example.co.uk', 'example.de'];
const NOTES = [
  'Prefers e-mail over phone.',
  'Met at the 2023 user conference; interested in the API.',
  'Renewal due next quarter, asked for a discount.',
  'Referred by an existing customer.',
  'Unsubscribed from the weekly digest, keeps product updates.',
];
const QUOTED_NOTES = [
  'Said "call me after 5pm", not before',
  'Asked about "Enterprise" pricing, SSO, and audit logs',
  'Wrote: "great support, slow invoices"',
];

const ASCII: Record<string, string> = {
  ë: 'e',
  é: 'e',
  ó: 'o',
  Ó: 'O',
  á: 'a',
  í: 'i',
  ø: 'o',
  ö: 'o',
  ü: 'u',
  å: 'a',
  č: 'c',
  ł: 'l',
};
const emailPart = (name: string): string =>
  name
    .replace(/[^ -~]/g, (char) => ASCII[char] ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '');

const csvField = (value: string): string =>
  /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

/** One profile row, as CSV fields; `index` is 0-based. */
const makeRow = (index: number, random: () => number): string[] => {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const digit = (): string => String(Math.floor(random() * 10));
  const letter = (): string => String.fromCharCode(65 + Math.floor(random() * 26));
  const first = pick(FIRST);
  const last = pick(LAST);
  const [city, state, postalPattern, country, phonePrefix] = pick(PLACES);
  let email = `${emailPart(first)}.${emailPart(last)}.${index + 1}@${pick(DOMAINS)}`;
  // Source systems are not tidy: some addresses come capitalised or padded; the mapping trims and lowercases.
  const messiness = random();
  if (messiness < 0.05) email = `${email[0]!.toUpperCase()}${email.slice(1)}`;
  else if (messiness < 0.07) email = ` ${email}`;
  const signup = new Date(Date.UTC(2014, 0, 1) + Math.floor(random() * 11 * 365) * 86_400_000);
  const ordered = random() < 0.8;
  const orders = ordered ? 1 + Math.floor(random() * random() * 120) : 0;
  const lastOrder = ordered
    ? new Date(
        signup.getTime() + Math.floor(random() * 300) * 86_400_000 + Math.floor(random() * 86_400) * 1000,
      )
    : undefined;
  const notesDie = random();
  const notes =
    notesDie < 0.6
      ? ''
      : notesDie < 0.92
        ? pick(NOTES)
        : notesDie < 0.995
          ? pick(QUOTED_NOTES)
          : `${pick(NOTES)}\nFollow-up: ${pick(NOTES)}`;
  const apartment = random() < 0.15 ? `, Apt ${1 + Math.floor(random() * 40)}${letter()}` : '';
  return [
    `cus_${pad(index + 1, 9)}`,
    email,
    first,
    last,
    `${pick(COMPANY_STEMS)} ${pick(COMPANY_SUFFIXES)}`,
    pick(TITLES),
    `${phonePrefix} ${digit()}${digit()}${digit()} ${digit()}${digit()}${digit()}${digit()}`,
    `${1 + Math.floor(random() * 2500)} ${pick(STREETS)} ${pick(STREET_TYPES)}${apartment}`,
    city,
    state,
    postalPattern.replace(/[#A]/g, (char) => (char === '#' ? digit() : letter())),
    country,
    pick(INDUSTRIES),
    String(Math.max(1, Math.round(10 ** (random() * 4.5)))),
    pick(PLANS),
    signup.toISOString().slice(0, 10),
    lastOrder === undefined ? '' : lastOrder.toISOString().replace('.000Z', 'Z'),
    String(orders),
    (orders * (5 + random() * 195)).toFixed(2),
    orders > 0 ? 'true' : 'false',
    notes,
  ];
};

export interface ProfileFile {
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  /** Whether it was written now (false: an identical earlier file was reused). */
  readonly generated: boolean;
  readonly seconds: number;
}

/** Writes `rows` profiles to `bench-data/profiles-<rows>.csv`, or reuses the file a previous run wrote. */
export const ensureProfileFile = async (rows: number, directory = BENCH_DATA_DIR): Promise<ProfileFile> => {
  const path = join(directory, `profiles-${rows}.csv`);
  const metaPath = `${path}.json`;
  const wanted = { version: GENERATOR_VERSION, rows };
  if (existsSync(path) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as typeof wanted & { bytes: number };
    if (meta.version === wanted.version && meta.rows === rows && statSync(path).size === meta.bytes) {
      return { path, rows, bytes: meta.bytes, generated: false, seconds: 0 };
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  const started = performance.now();
  const random = createRandom(0x5eed_f00d);
  const out = createWriteStream(path);
  let chunk = `${COLUMNS.join(',')}\n`;
  for (let index = 0; index < rows; index += 1) {
    chunk += `${makeRow(index, random).map(csvField).join(',')}\n`;
    if (chunk.length >= 1 << 20 || index === rows - 1) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end();
  await once(out, 'finish');
  const bytes = statSync(path).size;
  writeFileSync(metaPath, `${JSON.stringify({ ...wanted, bytes })}\n`);
  return { path, rows, bytes, generated: true, seconds: (performance.now() - started) / 1000 };
};

if (import.meta.main) {
  const rows = Number(process.argv[2] ?? 100_000);
  if (!Number.isSafeInteger(rows) || rows < 1) throw new Error('usage: node bench/profiles.ts <rows>');
  const file = await ensureProfileFile(rows);
  console.log(
    `${file.path}: ${file.rows.toLocaleString('en')} profiles, ${(file.bytes / 1e6).toFixed(1)} MB` +
      (file.generated ? ` (written in ${file.seconds.toFixed(1)} s)` : ' (reused)'),
  );
}
