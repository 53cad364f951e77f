/** Debian's Chromium driven by playwright-core, as the browser tests use it. */
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';
import { tempDir } from './env.js';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
// Without the background-networking flags Chromium keeps calling Google's hosts, which this network refuses.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A fresh profile in a temp dir; closed after the test. */
export async function openBrowser(t: { after: (fn: () => unknown) => void }, viewport = { width: 1400, height: 900 }): Promise<BrowserContext> {
  const profile = await tempDir(t, 'binswarm-chromium-');
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport });
  t.after(() => browser.close());
  return browser;
}
