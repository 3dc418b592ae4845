import type { RunningSandbox } from '@ferry/sandbox';
import type { Profile } from './profiles.ts';
import { eloquaContacts, sendgridContacts } from './sandbox.ts';

/*
 * What a destination should hold, compared with what the sandbox holds: every expected contact,
 * with exactly the expected field values, and nothing else.
 */

export interface ExpectedContact {
  /** As the vendor stores it: lower case. */
  readonly email: string;
  /** Field → value; a field left out is not compared (a value the vendor refused, say). */
  readonly fields: Readonly<Record<string, string>>;
}

export interface Comparison {
  readonly matched: number;
  readonly missing: number;
  /** Present, but some field differs: an older value, or a value lost. */
  readonly stale: number;
  readonly extra: number;
  readonly examples: string[];
}

export const sendgridExpected = (p: Profile): ExpectedContact => ({
  email: p.email.trim().toLowerCase(),
  fields: { first_name: p.firstName, last_name: p.lastName, city: p.city, country: p.country },
});

export const eloquaExpected = (p: Profile): ExpectedContact => ({
  email: p.email.trim().toLowerCase(),
  fields: {
    C_FirstName: p.firstName,
    C_LastName: p.lastName,
    C_Company: p.company,
    C_City: p.city,
    C_Country: p.country,
    C_Title: p.title,
  },
});

export const compareContacts = (
  actual: ReadonlyMap<string, Readonly<Record<string, unknown>>>,
  expected: readonly ExpectedContact[],
): Comparison => {
  let matched = 0;
  let missing = 0;
  let stale = 0;
  const examples: string[] = [];
  const wanted = new Set<string>();
  for (const contact of expected) {
    wanted.add(contact.email);
    const held = actual.get(contact.email);
    if (held === undefined) {
      missing += 1;
      if (examples.length < 5) examples.push(`missing ${contact.email}`);
      continue;
    }
    const differs = Object.entries(contact.fields).find(([field, value]) => (held[field] ?? '') !== value);
    if (differs === undefined) {
      matched += 1;
      continue;
    }
    stale += 1;
    if (examples.length < 5) {
      const [field, value] = differs;
      examples.push(
        `${contact.email} ${field}: holds ${JSON.stringify(String(held[field] ?? '').slice(0, 60))}, expected ${JSON.stringify(value.slice(0, 60))}`,
      );
    }
  }
  let extra = 0;
  for (const email of actual.keys()) {
    if (wanted.has(email)) continue;
    extra += 1;
    if (examples.length < 5) examples.push(`unexpected ${email}`);
  }
  return { matched, missing, stale, extra, examples };
};

export const sendgridHolding = async (
  sandbox: RunningSandbox,
): Promise<Map<string, Record<string, unknown>>> =>
  new Map((await sendgridContacts(sandbox.sendgrid!.url)).map((c) => [c.email.toLowerCase(), c]));

export const eloquaHolding = async (sandbox: RunningSandbox): Promise<Map<string, Record<string, unknown>>> =>
  new Map((await eloquaContacts(sandbox.eloqua!.url)).map((c) => [c.emailAddress.toLowerCase(), c.fields]));

export const compareSendgrid = async (
  sandbox: RunningSandbox,
  profiles: readonly Profile[],
): Promise<Comparison> => compareContacts(await sendgridHolding(sandbox), profiles.map(sendgridExpected));

export const compareEloqua = async (
  sandbox: RunningSandbox,
  profiles: readonly Profile[],
): Promise<Comparison> => compareContacts(await eloquaHolding(sandbox), profiles.map(eloquaExpected));
