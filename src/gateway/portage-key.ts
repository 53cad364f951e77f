/**
 * The gateway's OpenPGP key at set-up: made in the gateway's keyring (owned
 * like its data dir, so the service can use it), its public half trusted in
 * Portage's verification keyring.
 */
import { chown, lstat, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Gpg, trustKeyForPortage } from '../formats/openpgp.js';
import { GATEWAY_KEY_UID, gatewayGnupgHome } from './portage-signing.js';

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await chown(path, uid, gid);
  if ((await lstat(path)).isDirectory()) for (const name of await readdir(path)) await chownTree(join(path, name), uid, gid);
}

/** The directories of `path` that do not exist yet (deepest first), and the owner of the nearest one that does. */
async function missingDirs(path: string): Promise<{ missing: string[]; owner: { uid: number; gid: number } }> {
  const missing: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    const st = await stat(p).catch(() => undefined);
    if (st) return { missing, owner: { uid: st.uid, gid: st.gid } };
    missing.push(p);
    if (dirname(p) === p) return { missing, owner: { uid: 0, gid: 0 } };
  }
}

export async function installGatewayKey(o: { gatewayData: string; gpgHome?: string; gpgKey?: string; portageGnupg: string }): Promise<{ fingerprint: string; created: boolean; gpgHome: string; portageGnupg: string }> {
  const home = o.gpgHome ?? gatewayGnupgHome(o.gatewayData);
  const gpg = new Gpg({ home, key: o.gpgKey });
  // Set up as root for a service that runs as its own user (owning /var/lib/binswarm):
  // what we create below its directory is handed to it, or it could not sign.
  const { missing, owner } = await missingDirs(home);
  try {
    const made = o.gpgKey ? { fingerprint: await gpg.signingKey(), created: false } : await gpg.ensureKey(GATEWAY_KEY_UID);
    if (made.created && process.getuid?.() === 0 && owner.uid !== 0) {
      for (const d of missing) await chown(d, owner.uid, owner.gid);
      await chownTree(home, owner.uid, owner.gid);
    }
    await trustKeyForPortage(o.portageGnupg, await gpg.exportPublicKey());
    return { ...made, gpgHome: home, portageGnupg: o.portageGnupg };
  } finally {
    await gpg.close();
  }
}
