/** The gateway's signing flags (shared by `gateway` and `node`) → the signing hook. */
import { gatewayGnupgHome, PortageSigning } from '../gateway/portage-signing.js';
import { BlobStore } from '../transfer/blob-store.js';

export interface PortageSigningFlags {
  /** commander's `--no-sign`: undefined or true signs. */
  sign?: boolean;
  gpgHome?: string;
  gpgKey?: string;
  gpgPassphraseFile?: string;
}

export async function openPortageSigning(dataDir: string, o: PortageSigningFlags): Promise<PortageSigning | undefined> {
  if (o.sign === false) return undefined;
  const store = await BlobStore.open(dataDir);
  return PortageSigning.open(dataDir, store, { home: o.gpgHome ?? gatewayGnupgHome(dataDir), key: o.gpgKey, passphraseFile: o.gpgPassphraseFile });
}
