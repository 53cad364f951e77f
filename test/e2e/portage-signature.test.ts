/**
 * Portage's own signature check stays on: the gateway serves copies signed
 * with a local OpenPGP key, setup-portage trusts that key where Portage
 * looks (ROOT/etc/portage/gnupg), and real Portage code decides:
 * - Portage's gpkg verification (lib/portage/gpkg.py, run as emerge runs it
 *   for a binrepo with verify-signature = true) against the keyring
 *   setup-portage made: our signature is accepted; another key's, or a copy
 *   tampered with after signing, is refused;
 * - the real client, `getbinpkg.py --require-signature` (emerge with
 *   FEATURES=binpkg-request-signature), installs from a running gateway.
 *   That harness verifies only with Portage's test keyring (it copies
 *   lib/portage/tests/.gnupg into a fresh PORTAGE_GNUPGHOME and offers no
 *   option to add a key), so that gateway signs with Portage's test key
 *   through --gpg-home/--gpg-key/--gpg-passphrase-file — the options a user
 *   with an existing key (e.g. getuto's) uses; a gateway signing with its
 *   own fresh key is refused by the same client.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createHash } from 'node:crypto';
import { signVerifiedGpkg } from '../../src/formats/gpkg-sign.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { Gpg, gpgAvailable } from '../../src/formats/openpgp.js';
import { runCli } from '../helpers/cli.js';
import { fixturesDir, hasFixtures, hasProgram, need, portageToolsDir, repoRoot, tempDir } from '../helpers/env.js';
import { operatorWorld } from '../helpers/operators.js';
import { portageAvailable, portageSource, runGetbinpkg } from '../helpers/portage.js';
import { startBinswarm } from '../helpers/procs.js';

const HELLO = () => join(fixturesDir, 'zstd', 'app-misc/hello-1.0.gpkg.tar');
const TEST_KEY = '0x5D90EA06352177F6';

/** Portage's verdict on one package, from its own gpkg code (test/helpers/portage-verify.py). */
function portageVerify(home: string, pkg: string): Promise<{ ok: boolean; error: string | null; log: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [join(repoRoot, 'test/helpers/portage-verify.py'), home, pkg], {
      env: { ...process.env, PORTAGE_SRC: portageSource(), PORTAGE_TOOLS: portageToolsDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve({ ...(JSON.parse(out.trim().split('\n').pop()!) as { ok: boolean; error: string | null }), log: err.slice(-3000) });
      } catch {
        reject(new Error(`portage-verify printed no JSON: ${err.slice(-2000)}`));
      }
    });
  });
}

/** Outer tar members of a file: name → [data offset, size] (ustar headers). */
function members(buf: Buffer): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (let off = 0; off + 512 <= buf.length; ) {
    const name = buf.subarray(off, off + 100).toString('utf8').replace(/\0.*$/s, '');
    if (!name) break;
    const size = parseInt(buf.subarray(off + 124, off + 136).toString('utf8').replace(/\0.*$/s, '').trim(), 8);
    out.set(name.split('/')[1]!, [off + 512, size]);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

function gpgHome(t: TestContext, dir: string): Gpg {
  const g = new Gpg({ home: dir });
  t.after(() => g.close());
  return g;
}

test('setup-portage trusts the gateway key; Portage accepts what it signed and refuses another key and a tampered copy', { timeout: 120_000 }, async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  if (!need(t, gpgAvailable(), 'gpg (Debian gnupg)')) return;
  if (!need(t, portageAvailable, 'the real Portage client (../shared/tools/portage)')) return;
  const dir = await tempDir(t);
  // Portage runs gpg as nobody:nogroup when root, and /etc is world-traversable; so must our ROOT be.
  chmodSync(dir, 0o755);
  const root = join(dir, 'root');
  const gwData = join(dir, 'gw');
  const setup = await runCli(['setup-portage', '--gateway', 'http://127.0.0.1:7680', '--root', root, '--gateway-data', gwData, '--json']);
  assert.equal(setup.code, 0, setup.stderr);
  t.after(() => new Gpg({ home: join(gwData, 'gnupg') }).close());
  const done = JSON.parse(setup.stdout) as { key: { fingerprint: string; portageGnupg: string } };
  assert.match(readFileSync(join(root, 'etc/portage/binrepos.conf/binswarm.conf'), 'utf8'), /^verify-signature = true$/m);
  assert.equal(done.key.portageGnupg, join(root, 'etc/portage/gnupg'));
  // Run again: the same key, nothing made twice.
  const again = JSON.parse((await runCli(['setup-portage', '--gateway', 'http://127.0.0.1:7680', '--root', root, '--gateway-data', gwData, '--json'])).stdout) as { key: { fingerprint: string; created: boolean } };
  assert.deepEqual([again.key.fingerprint, again.key.created], [done.key.fingerprint, false]);

  const verified = await inspectPackage(HELLO(), { format: 'gpkg' });
  const ours = join(dir, 'ours.gpkg.tar');
  const copy = await signVerifiedGpkg({ path: HELLO(), sha256: verified.archive.sha256 }, ours, gpgHome(t, join(gwData, 'gnupg')));
  const reread = await inspectPackage(ours, { format: 'gpkg' });
  assert.equal(reread.signed, true);
  assert.equal(reread.outputDigest, verified.outputDigest, 'the signed copy holds the attested output');
  assert.equal(copy.sha256, reread.archive.sha256);
  assert.notEqual(copy.sha256, verified.archive.sha256);
  const names = [...members(readFileSync(ours)).keys()];
  assert.deepEqual(names, ['gpkg-1', 'metadata.tar.zst', 'metadata.tar.zst.sig', 'image.tar.zst', 'image.tar.zst.sig', 'Manifest']);

  const portageGnupg = join(root, 'etc/portage/gnupg');
  const accepted = await portageVerify(portageGnupg, ours);
  assert.equal(accepted.ok, true, `Portage refused our signature: ${accepted.error}\n${accepted.log}`);

  // Another key (not trusted in /etc/portage/gnupg): refused.
  const other = gpgHome(t, join(dir, 'other-gnupg'));
  await other.ensureKey('someone else <x@example.invalid>');
  const theirs = join(dir, 'theirs.gpkg.tar');
  await signVerifiedGpkg({ path: HELLO(), sha256: verified.archive.sha256 }, theirs, other);
  const refused = await portageVerify(portageGnupg, theirs);
  assert.equal(refused.ok, false);
  assert.match(refused.error!, /InvalidSignature/);

  // Tampered after signing, with the Manifest's digests fixed up to match: only the signatures can tell.
  const bytes = readFileSync(ours);
  const m = members(bytes);
  const [imgOff, imgSize] = m.get('image.tar.zst')!;
  const oldImage = Buffer.from(bytes.subarray(imgOff, imgOff + imgSize));
  bytes[imgOff + imgSize - 5]! ^= 0x01;
  const newImage = bytes.subarray(imgOff, imgOff + imgSize);
  const [manOff, manSize] = m.get('Manifest')!;
  let manifest = bytes.subarray(manOff, manOff + manSize).toString('utf8');
  for (const alg of ['sha512', 'blake2b512']) manifest = manifest.replace(createHash(alg).update(oldImage).digest('hex'), createHash(alg).update(newImage).digest('hex'));
  assert.equal(Buffer.byteLength(manifest), manSize);
  bytes.write(manifest, manOff, 'utf8');
  const tampered = join(dir, 'tampered.gpkg.tar');
  writeFileSync(tampered, bytes);
  const refusedTampered = await portageVerify(portageGnupg, tampered);
  assert.equal(refusedTampered.ok, false);
  assert.match(refusedTampered.error!, /InvalidSignature/, 'refused for its signature, not its digests');

  // Set up as root for a gateway that runs as its own user: the keyring made is that user's, and it can sign with it.
  if (process.getuid?.() === 0 && hasProgram('runuser', ['--version'])) {
    const svc = join(dir, 'svc');
    mkdirSync(svc, { mode: 0o755 });
    chownSync(svc, 65534, 65534);
    const s2 = await runCli(['setup-portage', '--gateway', 'http://127.0.0.1:7680', '--root', join(dir, 'root2'), '--gateway-data', join(svc, 'gw'), '--json']);
    assert.equal(s2.code, 0, s2.stderr);
    assert.deepEqual([statSync(join(svc, 'gw')).uid, statSync(join(svc, 'gw/gnupg')).uid, statSync(join(svc, 'gw/gnupg/pubring.kbx')).uid], [65534, 65534, 65534]);
    const asService = spawnSync('runuser', ['-u', 'nobody', '--', 'gpg', '--homedir', join(svc, 'gw/gnupg'), '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--detach-sign', '--output', '-', HELLO()], { env: { ...process.env, HOME: svc } });
    spawnSync('runuser', ['-u', 'nobody', '--', 'gpgconf', '--homedir', join(svc, 'gw/gnupg'), '--kill', 'gpg-agent']);
    assert.equal(asService.status, 0, asService.stderr.toString());
  }
});

test('real emerge with signatures required installs from a signing gateway; a gateway key Portage does not trust is refused', { timeout: 400_000 }, async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  if (!need(t, gpgAvailable(), 'gpg (Debian gnupg)')) return;
  if (!need(t, portageAvailable, 'the real Portage client (../shared/tools/portage)')) return;
  const dir = await tempDir(t);
  const alice = operatorWorld(dir, ['alice']).people[0]!;
  const builderKey = alice.key;
  writeFileSync(join(dir, 'policy.toml'), 'roots = ["root.key.pub"]\nthreshold = 1\n');

  const coord = await startBinswarm(['coordinator', '--data', join(dir, 'coord'), '--listen', '127.0.0.1:0', '--roots', join(dir, 'root.key.pub')], t);
  const C = coord.ready.listening;
  const node = await startBinswarm(['node', '--roles', 'contribute', '--coordinator', C, '--data', join(dir, 'node'), '--key', builderKey, '--listen', '127.0.0.1:0'], t);
  const pub = await runCli(['publish', join(fixturesDir, 'zstd'), '--coordinator', C, '--key', builderKey, ...alice.certs.flatMap((c) => ['--cert', c]), '--data', join(dir, 'node'), '--public-url', node.ready.listening, '--json']);
  assert.equal(pub.code, 0, pub.stderr);

  // The gateway signs with Portage's test key (the one the harness's keyring trusts), kept in our own copy of its keyring.
  const testHome = join(dir, 'test-gnupg');
  cpSync(join(portageSource(), 'lib/portage/tests/.gnupg'), testHome, { recursive: true });
  chmodSync(testHome, 0o700);
  writeFileSync(join(dir, 'pass'), 'GentooTest\n', { mode: 0o600 });
  t.after(() => new Gpg({ home: testHome }).close());
  const gw = await startBinswarm<{ listening: string; served: number }>(['gateway', '--coordinator', C, '--data', join(dir, 'gw'), '--policy', join(dir, 'policy.toml'), '--listen', '127.0.0.1:0', '--interval', '3600', '--gpg-home', testHome, '--gpg-key', TEST_KEY, '--gpg-passphrase-file', join(dir, 'pass')], t, 120_000);
  assert.equal(gw.ready.served, 3, gw.stderr());
  const status = (await (await fetch(`${gw.ready.listening}/-/status`)).json()) as { listed: { path: string; archive: string }[] };
  const helloPath = status.listed.find((s) => s.path.startsWith('app-misc/hello/'))!.path;
  // Listed lazily, before the archive is fetched or signed: the SIZE listed is the size then served.
  const listedSize = (index: string) => Number(/^SIZE: (\d+)$/m.exec(index.split('\n\n').find((e) => e.includes(`PATH: ${helloPath}`))!)![1]);
  const before = listedSize(await (await fetch(`${gw.ready.listening}/Packages`)).text());
  const served = Buffer.from(await (await fetch(`${gw.ready.listening}/${helloPath}`)).arrayBuffer());
  assert.equal(served.length, before);
  assert.equal(listedSize(await (await fetch(`${gw.ready.listening}/Packages`)).text()), before);
  assert.deepEqual([...members(served).keys()].filter((n) => n.endsWith('.sig')), ['metadata.tar.zst.sig', 'image.tar.zst.sig']);

  const install = await runGetbinpkg(gw.ready.listening, ['app-misc/hello'], ['--require-signature', '--quiet']);
  assert.equal(install.report.ok, true, `emerge with signatures required failed: ${install.report.error}\n${install.log.slice(-3000)}`);
  assert.deepEqual([...install.report.merged].sort(), ['app-misc/hello-1.0', 'dev-libs/libgreet-1.0']);
  const sha = createHash('sha256').update(served).digest('hex');
  assert.ok(install.report.fetched.some((f) => f.sha256 === sha), 'Portage installed the signed copy the gateway served');

  // A gateway signing with its own fresh key, which this Portage does not trust: emerge refuses.
  const gw2 = await startBinswarm<{ listening: string; served: number }>(['gateway', '--coordinator', C, '--data', join(dir, 'gw2'), '--policy', join(dir, 'policy.toml'), '--listen', '127.0.0.1:0', '--interval', '3600'], t, 120_000);
  t.after(() => new Gpg({ home: join(dir, 'gw2', 'gnupg') }).close());
  assert.equal(gw2.ready.served, 3, gw2.stderr());
  const refused = await runGetbinpkg(gw2.ready.listening, ['app-misc/hello'], ['--require-signature', '--quiet']);
  assert.equal(refused.report.ok, false);
  assert.equal(refused.report.merged.length, 0, 'nothing installed');
  assert.match(`${(refused.report.emerge_errors ?? []).join('\n')}\n${refused.log}`, /signed with at least one unknown key|No public key|verification failed/);
});
