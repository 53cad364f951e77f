/**
 * The gateway's OpenPGP key at set-up: made in the gateway's keyring (owned
 * like its data dir, so the service can use it), its public half trusted in
 * Portage's verification keyring.
 */
import { chown, lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Gpg, trustKeyForPortage } from '../formats/openpgp.js';
import { GATEWAY_KEY_UID, gatewayGnupgHome } from './portage-signing.js';

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await chown(path, uid, gid);
  if ((await lstat(path)).isDirectory()) for (const name of await readdir(path)) await chownTree(join(path, name), uid, gid);
}

export async function installGatewayKey(o: { gatewayData: string; gpgHome?: string; gpgKey?: string; portageGnupg: string }): Promise<{ fingerprint: string; created: boolean; gpgHome: string; portageGnupg: string }> {
  const home = o.gpgHome ?? gatewayGnupgHome(o.gatewayData);
  const gpg = new Gpg({ home, key: o.gpgKey });
  try {
    const made = o.gpgKey ? { fingerprint: await gpg.signingKey(), created: false } : await gpg.ensureKey(GATEWAY_KEY_UID);
    // Set up as root for a service that runs as its own user: hand it its keyring.
    const owner = await stat(o.gatewayData).catch(() => undefined);
    if (made.created && owner && process.getuid?.() === 0 && owner.uid !== 0) await chownTree(home, owner.uid, owner.gid);
    await trustKeyForPortage(o.portageGnupg, await gpg.exportPublicKey());
    return { ...made, gpgHome: home, portageGnupg: o.portageGnupg };
  } finally {
    await gpg.close();
  }
}
