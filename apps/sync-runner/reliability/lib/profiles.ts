import { writeFileSync } from 'node:fs';
import { seededRandom } from './random.ts';

/*
 * Deterministic profiles: the same seed and count give the same file byte for byte, so every run of
 * the harness syncs the same data and a failure replays. Values have realistic shapes and lengths
 * (accents, CJK, commas and quotes that need CSV quoting), but stay inside both vendors' limits.
 */

export interface Profile {
  readonly id: string;
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly company: string;
  readonly city: string;
  readonly country: string;
  readonly title: string;
}

const FIRST = [
  'Ann',
  'Bob',
  'Chloé',
  'Dmitri',
  'Eve',
  'Fatima',
  'Gunnar',
  'Hana',
  'Ivan',
  'Jürgen',
  'Ken',
  'Lucía',
  'Mei',
  'Noah',
  'Olu',
  'Priya',
  'Quinn',
  'Rosa',
  'Sven',
  'Tomás',
  '美咲',
  'Zoë',
];
const LAST = [
  'Andersen',
  'Brown',
  'Çelik',
  'Dubois',
  'Eriksson',
  "O'Neil",
  'García',
  'Hansen',
  'Ito',
  'Jones',
  'Kowalski',
  'Lefèvre',
  'Müller',
  'Nakamura',
  'Okafor',
  'Petrov',
  'Rossi',
  'Smith',
  'Tanaka',
  'Øvergaard',
];
const COMPANY = [
  'Acme, Inc.',
  'Globex',
  'Initech',
  'Umbrella "Labs"',
  'Stark Industries',
  'Wayne Enterprises',
  'Hooli',
  'Vandelay Imports',
  'Soylent',
  'Tyrell Corp',
];
const CITY = [
  'Oslo',
  'Berlin',
  'São Paulo',
  'Kraków',
  'Tokyo',
  'Lagos',
  'Montréal',
  'Zürich',
  'Austin',
  'Pune',
  'Ōsaka',
  'Reykjavík',
];
const COUNTRY = ['NO', 'DE', 'BR', 'PL', 'JP', 'NG', 'CA', 'CH', 'US', 'IN', 'JP', 'IS'];
const TITLE = [
  'Engineer',
  'Manager',
  'Director',
  'Analyst',
  'Designer',
  'VP Sales',
  'Founder',
  'Consultant',
  '',
];

const at = <T>(items: readonly T[], index: number): T => items[index % items.length] as T;

/** Profile `index` of the first version of the source. */
export const profileAt = (index: number, seed: number): Profile => {
  const random = seededRandom(seed * 1_000_003 + index);
  const r = () => Math.floor(random() * 1_000_000);
  const firstName = at(FIRST, r());
  const lastName = at(LAST, r());
  return {
    id: `c${String(index).padStart(7, '0')}`,
    // Unique per index and stable across versions: the vendors identify contacts by it.
    email:
      `${firstName.normalize('NFD').replace(/[^A-Za-z]/g, '') || 'user'}.${index}@example${index % 13}.test`.toLowerCase(),
    firstName,
    lastName,
    company: at(COMPANY, r()),
    city: at(CITY, r()),
    country: at(COUNTRY, r()),
    title: at(TITLE, r()),
  };
};

/** Whether profile `index` changes in `version` of the source (about 20 % per version after the first). */
export const changesIn = (index: number, version: number): boolean =>
  version > 1 && ((index + version * 7919) * 2_654_435_761) % 100 < 20;

/** Profile `index` as `version` of the source has it: the same person, with a new city, title and company per change. */
export const profileVersionAt = (index: number, seed: number, version: number): Profile => {
  let profile = profileAt(index, seed);
  for (let v = 2; v <= version; v += 1) {
    if (!changesIn(index, v)) continue;
    profile = {
      ...profile,
      city: `${profile.city.replace(/ \(moved.*$/, '')} (moved v${v})`,
      title: `${['Lead', 'Senior', 'Chief'][v % 3]} ${profile.title.replace(/^(Lead|Senior|Chief) /, '') || 'Associate'}`,
      company: `${profile.company.replace(/ Holdings v\d+$/, '')} Holdings v${v}`,
    };
  }
  return profile;
};

const CSV_SPECIAL = /[",\r\n]/;
export const csvCell = (value: string): string =>
  CSV_SPECIAL.test(value) ? `"${value.replaceAll('"', '""')}"` : value;

export const CSV_HEADER = 'id,email,first_name,last_name,company,city,country,title';

export const profileRow = (p: Profile): string =>
  [p.id, p.email, p.firstName, p.lastName, p.company, p.city, p.country, p.title].map(csvCell).join(',');

/** Writes `count` profiles as CSV; returns them (the expected state at the destinations). */
export const writeProfilesCsv = (path: string, count: number, seed: number, version = 1): Profile[] => {
  const profiles: Profile[] = [];
  const lines: string[] = [CSV_HEADER];
  for (let i = 0; i < count; i += 1) {
    const profile = profileVersionAt(i, seed, version);
    profiles.push(profile);
    lines.push(profileRow(profile));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return profiles;
};
