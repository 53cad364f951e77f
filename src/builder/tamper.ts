/**
 * A TEST-ONLY fault: the example backend changes one byte of its output so
 * that end-to-end tests can watch a dispute being recorded, the package
 * withheld and more verifications scheduled. It needs an environment
 * variable with one exact, self-explaining value, so it cannot be switched
 * on by accident (a stray `=1` does nothing), and the node says so loudly
 * at start-up when it is on.
 */
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const TAMPER_ENV = 'BINSWARM_TEST_ONLY_TAMPER_OUTPUT';
export const TAMPER_VALUE = 'yes-corrupt-every-build';

export function tamperRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[TAMPER_ENV] === TAMPER_VALUE;
}

/** Flips the last byte of the first regular file (in path order) of the image. */
export async function tamperWithImage(dir: string): Promise<string | undefined> {
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    const st = await lstat(p);
    if (st.isDirectory()) {
      const hit = await tamperWithImage(p);
      if (hit) return hit;
    } else if (st.isFile() && st.size > 0) {
      const b = await readFile(p);
      b[b.length - 1]! ^= 0x01;
      await writeFile(p, b);
      return p;
    }
  }
  return undefined;
}
