/**
 * OpenPGP through the system `gpg`, each keyring in its own GNUPGHOME.
 *
 * Why gpg and not an npm OpenPGP library: Portage verifies binpkg signatures
 * by running `gpg --verify` (BINPKG_GPG_VERIFY_BASE_COMMAND) against
 * /etc/portage/gnupg, so gpg is on every machine that checks them; signing
 * with the same program gives signatures and keyrings in exactly the dialect
 * that check (and app-portage/getuto, which maintains that keyring) reads,
 * with no new dependency. The secret key never leaves its GNUPGHOME.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BinswarmError } from '../errors.js';

export type OpenPgpErrorCode = 'GPG_MISSING' | 'GPG_FAILED' | 'GPG_NO_KEY';

export interface GpgOptions {
  /** GNUPGHOME of this keyring. */
  home: string;
  /** Key to sign with (fingerprint or id); default the only secret key in `home`. */
  key?: string;
  /** Passphrase of the key, read by gpg itself (getuto keeps one in /etc/portage/gnupg/pass). */
  passphraseFile?: string;
  /** The gpg program (default `gpg` on PATH). */
  program?: string;
}

export function gpgAvailable(program = 'gpg'): boolean {
  return spawnSync(program, ['--version'], { stdio: 'ignore' }).error === undefined;
}

function gpgError(code: OpenPgpErrorCode, message: string, subject?: string): BinswarmError<OpenPgpErrorCode> {
  return new BinswarmError(code, message, { subject });
}

/** Runs gpg once; resolves with stdout, or fails with its last stderr line. */
function runGpg(program: string, args: string[], input?: Buffer | string | Readable, subject?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? gpgError('GPG_MISSING', `'${program}' not found: install GnuPG (Gentoo app-crypt/gnupg, Debian gnupg)`) : e),
    );
    // gpg may exit before reading all of its input (bad key…); its exit status says why.
    child.stdin.on('error', () => undefined);
    child.on('close', (code) => {
      if (code === 0) return resolve(Buffer.concat(out));
      const last = err.trim().split('\n').filter((l) => !l.startsWith('[GNUPG:]')).pop() ?? '';
      reject(gpgError('GPG_FAILED', `gpg ${args.find((a) => a.startsWith('--') && !['--homedir', '--batch', '--no-tty'].includes(a)) ?? ''} failed (exit ${code}): ${last}`, subject));
    });
    if (input === undefined) child.stdin.end();
    else if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin.end(input);
    else {
      input.on('error', (e) => {
        child.kill();
        reject(e);
      });
      input.pipe(child.stdin);
    }
  });
}

export class Gpg {
  private readonly program: string;
  private fingerprint: string | undefined;

  constructor(readonly opts: GpgOptions) {
    this.program = opts.program ?? 'gpg';
  }

  private base(): string[] {
    return ['--homedir', this.opts.home, '--batch', '--no-tty'];
  }

  private unlock(): string[] {
    // Loopback pinentry: a daemon has no terminal; an unprotected key takes the empty passphrase.
    return ['--pinentry-mode', 'loopback', ...(this.opts.passphraseFile ? ['--passphrase-file', this.opts.passphraseFile] : ['--passphrase', ''])];
  }

  /** Fingerprints of the secret keys in this keyring. */
  async secretKeys(): Promise<string[]> {
    if (!(await stat(this.opts.home).catch(() => undefined))) return [];
    const out = (await runGpg(this.program, [...this.base(), '--with-colons', '--list-secret-keys'], undefined, this.opts.home)).toString('utf8');
    const fprs: string[] = [];
    let wantFpr = false;
    for (const line of out.split('\n')) {
      const f = line.split(':');
      if (f[0] === 'sec') wantFpr = true;
      else if (f[0] === 'fpr' && wantFpr) {
        fprs.push(f[9]!);
        wantFpr = false;
      }
    }
    return fprs;
  }

  /** The signing key's fingerprint: the configured one, else the only secret key present. */
  async signingKey(): Promise<string> {
    if (this.fingerprint) return this.fingerprint;
    const keys = await this.secretKeys();
    if (this.opts.key) {
      const want = this.opts.key.replace(/^0x/i, '').toUpperCase();
      const hit = keys.find((k) => k.endsWith(want));
      if (!hit) throw gpgError('GPG_NO_KEY', `no secret key ${this.opts.key} in ${this.opts.home}`, this.opts.home);
      return (this.fingerprint = hit);
    }
    if (keys.length !== 1) throw gpgError('GPG_NO_KEY', keys.length === 0 ? `no secret key in ${this.opts.home} (run binswarm setup-portage)` : `${keys.length} secret keys in ${this.opts.home}: name one`, this.opts.home);
    return (this.fingerprint = keys[0]!);
  }

  /** Makes an Ed25519 signing key (no passphrase: it lives in a 0700 directory of the service) unless one exists. */
  async ensureKey(uid: string): Promise<{ fingerprint: string; created: boolean }> {
    await mkdir(this.opts.home, { recursive: true, mode: 0o700 });
    await chmod(this.opts.home, 0o700);
    const existing = await this.secretKeys();
    if (existing.length > 0) return { fingerprint: await this.signingKey(), created: false };
    await runGpg(this.program, [...this.base(), '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-generate-key', uid, 'ed25519', 'sign', 'never'], undefined, this.opts.home);
    return { fingerprint: await this.signingKey(), created: true };
  }

  async exportPublicKey(): Promise<Buffer> {
    return runGpg(this.program, [...this.base(), '--armor', '--export', await this.signingKey()], undefined, this.opts.home);
  }

  /** An armored detached signature, as Portage makes it (`--detach-sig --armor --digest-algo SHA512`). */
  async detachSign(data: Readable | Buffer): Promise<Buffer> {
    const key = await this.signingKey();
    return runGpg(this.program, [...this.base(), ...this.unlock(), '--digest-algo', 'SHA512', '--local-user', key, '--armor', '--detach-sign'], data, this.opts.home);
  }

  /** The text clearsigned, as Portage signs a gpkg Manifest. */
  async clearsign(text: Buffer): Promise<Buffer> {
    const key = await this.signingKey();
    return runGpg(this.program, [...this.base(), ...this.unlock(), '--digest-algo', 'SHA512', '--local-user', key, '--clear-sign'], text, this.opts.home);
  }

  /** Stops the gpg-agent this keyring started (it would outlive us otherwise). */
  async close(): Promise<void> {
    spawnSync('gpgconf', ['--homedir', this.opts.home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
  }
}

/**
 * Makes `home` a verification keyring that trusts `publicKey` ultimately —
 * what Portage's check wants (GOODSIG plus TRUST_ULTIMATE or TRUST_FULLY,
 * lib/portage/gpkg.py) — keeping whatever else is there (getuto's keys).
 * Everything stays world-readable: Portage runs gpg as nobody:nogroup.
 */
export async function trustKeyForPortage(home: string, publicKey: Buffer, program = 'gpg'): Promise<string> {
  await mkdir(home, { recursive: true, mode: 0o755 });
  const base = ['--homedir', home, '--batch', '--no-tty'];
  const shown = (await runGpg(program, [...base, '--with-colons', '--import-options', 'show-only', '--import'], publicKey, home)).toString('utf8');
  const fpr = shown.split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9];
  if (!fpr) throw gpgError('GPG_FAILED', 'the gateway public key holds no key', home);
  await runGpg(program, [...base, '--import'], publicKey, home);
  await runGpg(program, [...base, '--import-ownertrust'], `${fpr}:6:\n`, home);
  await runGpg(program, [...base, '--check-trustdb'], undefined, home);
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
  await chmod(home, 0o755);
  // Only the files holding public keys and trust; never a secret of getuto's.
  for (const name of await readdir(home)) {
    if (['pubring.kbx', 'pubring.gpg', 'trustdb.gpg'].includes(name)) await chmod(join(home, name), 0o644);
  }
  return fpr;
}
