import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Headless, offline, no first-run noise, sRGB colours (so a screenshot's pixels can be compared). */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--force-color-profile=srgb', '--hide-scrollbars'];

/** Debian's `chromium` (scripts/setup.sh installs it) with a fresh profile under `scratch`; its stdout. */
export async function headlessChromium(scratch: string, args: string[]): Promise<string> {
  const profile = await mkdtemp(join(scratch, 'profile-'));
  const { stdout } = await run('chromium', [...FLAGS, `--user-data-dir=${profile}`, ...args], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}
