/*
 * Sample customer profiles for the demo: deterministic (a seeded generator, so every run and every
 * machine gets the same file), realistic enough to look like a CRM export, and with a handful of
 * the mistakes real exports contain.
 */

export interface SampleProfile {
  readonly id: string;
  readonly email: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly company: string;
  readonly city: string;
  readonly country: string;
  readonly plan: string;
  readonly lifetimeValue: string;
  readonly signedUp: string;
  readonly lastOrder: string;
}

export const CSV_COLUMNS = [
  'id',
  'email',
  'first_name',
  'last_name',
  'company',
  'city',
  'country',
  'plan',
  'lifetime_value',
  'signed_up',
  'last_order',
] as const;

// Space-separated lists: short to read here, split once.
const FIRST_NAMES = (
  'Ada Alan Amara Anders Aiko Björn Camille Carlos Chloé Dmitri Elif Emma Fatima François Grace Hana ' +
  'Ingrid Isabela Jamal José Kenji Lars Leila Łukasz Mai Marco María Mateo Nadia Noah Olu Priya Rafael ' +
  'Ravi Siobhán Sofia Tomás Wei Yara Zoë'
).split(' ');
const LAST_NAMES = (
  'Andersen Bauer Chen Costa Dubois Eriksson Fernández García Haddad Ivanova Jensen Kowalski Kumar ' +
  "Lefèvre Martin Müller Nakamura Nguyễn Novak O'Brien Okafor Park Rossi Santos Schmidt Silva Sørensen " +
  'Tanaka Walsh Yılmaz'
).split(' ');
const PLACES = (
  'Oslo/Norway Bergen/Norway Lyon/France Paris/France Porto/Portugal Lisbon/Portugal Kraków/Poland ' +
  'Gdańsk/Poland Kyoto/Japan Osaka/Japan Austin/United_States Chicago/United_States Recife/Brazil ' +
  'São_Paulo/Brazil Cork/Ireland Dublin/Ireland München/Germany Hamburg/Germany İzmir/Türkiye Lagos/Nigeria'
)
  .split(' ')
  .map((place) => place.replaceAll('_', ' ').split('/') as [string, string]);
const COMPANIES = (
  'Northwind Traders|Contoso|Fabrikam|Initech|Globex|Umbrella Analytics|Hooli|Vandelay Industries|' +
  'Stark Logistics|Wayne Foods|Acme Robotics|Tyrell Systems'
).split('|');
const PLANS = ['free', 'free', 'free', 'pro', 'pro', 'team', 'enterprise'];
const DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example.com'];

/** mulberry32: small, fast and the same everywhere for a given seed. */
const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** Lower-case ASCII for the local part of an address: `Łukasz Sørensen` → `lukasz.sorensen`. */
const asciiName = (name: string): string =>
  name
    .replace(/[Łł]/g, 'l')
    .replace(/[Øø]/g, 'o')
    .replace(/ı/g, 'i')
    .normalize('NFD')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();

const DAY = 86_400_000;
const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export const generateProfiles = (count: number, seed = 20250301): SampleProfile[] => {
  const random = seeded(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const start = Date.UTC(2019, 0, 1);
  const end = Date.UTC(2025, 5, 30);
  const profiles: SampleProfile[] = [];
  for (let i = 1; i <= count; i += 1) {
    const firstName = pick(FIRST_NAMES);
    const lastName = pick(LAST_NAMES);
    const [city, country] = pick(PLACES);
    const plan = pick(PLANS);
    const signedUp = start + Math.floor(random() * ((end - start) / DAY)) * DAY;
    const lastOrder = signedUp + Math.floor(random() * ((end - signedUp) / DAY)) * DAY;
    const value =
      plan === 'free' ? 0 : Math.round(random() * (plan === 'enterprise' ? 250_000 : 20_000)) / 10;
    profiles.push({
      id: `C-${String(i).padStart(5, '0')}`,
      // The number keeps addresses unique; some are written the way people type them.
      email:
        i % 97 === 0
          ? ` ${firstName.slice(0, 1).toUpperCase()}${asciiName(lastName)}${i}@${pick(DOMAINS).toUpperCase()}`
          : `${asciiName(firstName)}.${asciiName(lastName)}${i}@${pick(DOMAINS)}`,
      firstName,
      lastName,
      company: pick(COMPANIES),
      city,
      country,
      plan,
      lifetimeValue: value.toFixed(2),
      signedUp: isoDate(signedUp),
      lastOrder: random() < 0.15 ? '' : isoDate(lastOrder),
    });
  }
  return profiles;
};

const cell = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

export const csvRow = (p: SampleProfile): string =>
  [
    p.id,
    p.email,
    p.firstName,
    p.lastName,
    p.company,
    p.city,
    p.country,
    p.plan,
    p.lifetimeValue,
    p.signedUp,
    p.lastOrder,
  ]
    .map(cell)
    .join(',');

/** A profile the vendors refuse, and what is wrong with it. */
export interface Planted {
  readonly id: string;
  readonly what: string;
}

/**
 * The sample with its mistakes: two profiles a vendor rejects (rows that read fine) and five rows
 * that cannot be read as they are. Returns the CSV text and a description of each mistake.
 */
export const sampleCsv = (
  profiles: readonly SampleProfile[],
): { csv: string; rejects: Planted[]; badRows: string[] } => {
  const list = [...profiles];
  const at = (index: number, changes: Partial<SampleProfile>): SampleProfile => {
    const changed = { ...list[index]!, ...changes };
    list[index] = changed;
    return changed;
  };
  const badEmail = at(411, { email: 'maria.garcia@@example.com' });
  // 85 characters: within Eloqua's 100 for a city, over SendGrid's 60.
  const longCity = at(1302, {
    city: 'Taumatawhakatangihangakoauauotamateaturipukakapikimaungahoronukupokaiwhenuakitanatahu',
    country: 'New Zealand',
  });
  const rows = list.map(csvRow);
  const dup = list[57]!;
  // Bad rows, spread through the file the way they turn up in real exports.
  rows.splice(250, 0, csvRow({ ...list[250]!, id: '', email: 'no.id@example.com' }));
  rows.splice(700, 0, csvRow({ ...dup, email: `second.${dup.email.trim()}` }));
  rows.splice(1100, 0, `C-09001,kim.lee@example.com,Kim,"Lee" Jr.,Initech,Oslo,Norway,pro,10.00,2024-03-01,`);
  rows.splice(
    1500,
    0,
    `C-09002,sam.ortiz@example.com,Sam,Ortiz,Acme, Inc.,Austin,United States,pro,5.00,2023-07-14,`,
  );
  rows.splice(1800, 0, `C-09003,li.wu@example.com,Li,Wu,Hooli,Kyoto,Japan,team,99.00,31/02/2024,2024-05-01`);
  return {
    csv: `${[CSV_COLUMNS.join(','), ...rows].join('\n')}\n`,
    rejects: [
      { id: badEmail.id, what: `e-mail ${JSON.stringify(badEmail.email)}` },
      { id: longCity.id, what: 'a city name of 85 characters (SendGrid allows 60, Eloqua 100)' },
    ],
    badRows: [
      'a row without an id',
      `a second row with the id ${dup.id}`,
      'a broken quote ("Lee" Jr.)',
      'an unquoted comma (Acme, Inc.)',
      'a date that does not exist (31/02/2024)',
    ],
  };
};
