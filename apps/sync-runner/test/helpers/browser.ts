import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

/*
 * Real headless Chromium for the dashboard tests: Debian's `chromium` package driven by
 * playwright-core (which downloads no browser), with a fresh profile directory per launch. Absent
 * Chromium skips the tests loudly, and fails them when FERRY_REQUIRE_CHROMIUM=1 (CI).
 */

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** `which chromium`, or undefined (with the reason logged, or thrown when CI requires it). */
export const findChromium = (): string | undefined => {
  let path: string | undefined;
  try {
    path = execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    path = undefined;
  }
  if (path !== undefined) return path;
  const reason =
    'chromium is not installed (apt-get install -y chromium); the dashboard browser tests are SKIPPED';
  if (process.env.FERRY_REQUIRE_CHROMIUM === '1') throw new Error(`FERRY_REQUIRE_CHROMIUM=1 but ${reason}`);
  console.warn(`\n!!! ${reason} !!!\n`);
  return undefined;
};

export interface RunningBrowser {
  readonly context: BrowserContext;
  readonly close: () => Promise<void>;
}

export const launchChromium = async (executablePath: string): Promise<RunningBrowser> => {
  const profile = mkdtempSync(join(tmpdir(), 'ferry-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS],
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
};
