/**
 * The network slice end to end, with real processes and the real Portage
 * client: a root, three operators with one builder each, a coordinator,
 * three contributors publishing the same real PKGDIR, and consumer gateways
 * from which `emerge --getbinpkgonly` installs only what the policy trusts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { extractGpkgImage } from '../../src/formats/extract.js';
import { readGpkg } from '../../src/formats/gpkg-read.js';
import { writeGpkg } from '../../src/formats/gpkg-write.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { packagesEntryOf } from '../../src/formats/packages-entry.js';
import { readPackagesIndexFile, writePackagesIndexFiles } from '../../src/formats/packages-index.js';
import { BlobStore } from '../../src/transfer/blob-store.js';
import { openAttestation } from '../../src/trust/statements.js';
import { runCli } from '../helpers/cli.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';
import { hasPostgres, startPostgres } from '../helpers/postgres.js';
import { portageAvailable, runGetbinpkg } from '../helpers/portage.js';
import { startBinswarm } from '../helpers/procs.js';
import { operatorWorld, policyFile } from '../helpers/operators.js';

const PKGDIR = () => join(fixturesDir, 'zstd');

interface Contributor {
  name: string;
  key: string;
  certs: string[];
  data: string;
  url: string;
}

/** Root, three operators (alice, bob, carol) with one builder key each, and a consumer key, as files in DIR. */
async function world(dir: string) {
  return operatorWorld(dir, ['alice', 'bob', 'carol']);
}

const policy = policyFile;

async function publish(c: Contributor, coordinator: string, pkgdir: string, extra: string[] = []) {
  const r = await runCli(['publish', pkgdir, '--coordinator', coordinator, '--key', c.key, ...c.certs.flatMap((x) => ['--cert', x]), '--data', c.data, '--public-url', c.url, '--json', ...extra]);
  assert.equal(r.code, 0, `publish by ${c.name}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { packages: { cpv: string; action: string; archive: string; dispute?: string[] }[] };
}

/** A different build of the same config: same metadata (so same buildKey), one more file in the image. */
async function divergentHello(dir: string): Promise<string> {
  const source = join(PKGDIR(), 'app-misc/hello-1.0.gpkg.tar');
  const g = await readGpkg(source);
  const image = join(dir, 'img');
  await extractGpkgImage(source, image);
  const eprefix = readdirSync(join(image, 'tmp'))[0]!;
  writeFileSync(join(image, 'tmp', eprefix, 'usr/share/backdoor'), 'surprise\n');
  const pkgdir = join(dir, 'divergent');
  mkdirSync(join(pkgdir, 'app-misc'), { recursive: true });
  const out = join(pkgdir, 'app-misc/hello-1.0.gpkg.tar');
  await writeGpkg({ imageDir: image, metadata: Object.fromEntries(g.metadataFiles), out, basename: g.basename });
  const info = await inspectPackage(out, { portageDigests: true });
  const header = (await readPackagesIndexFile(join(PKGDIR(), 'Packages'))).header;
  await writePackagesIndexFiles(pkgdir, { header: new Map([...header, ['PACKAGES', '1']]), packages: [packagesEntryOf(g.metadata, { path: 'app-misc/hello-1.0.gpkg.tar', size: info.archive.size, md5: info.md5!, sha1: info.sha1!, header })] });
  return pkgdir;
}

async function flow(t: TestContext, db?: string, full = true): Promise<void> {
  const dir = await tempDir(t );
  const w = await world(dir);
  const coord = await startBinswarm<{ listening: string }>(['coordinator', '--data', join(dir, 'coord'), '--listen', '127.0.0.1:0', '--roots', w.rootPub, ...(db ? ['--db', db] : [])], t );
  const C = coord.ready.listening;
  const contributors: Contributor[] = [];
  for (const p of w.people) {
    const data = join(dir, `node-${p.name}`);
    const node = await startBinswarm<{ listening: string }>(['node', '--roles', 'contribute', '--coordinator', C, '--data', data, '--key', p.key, '--listen', '127.0.0.1:0'], t );
    contributors.push({ ...p, data, url: node.ready.listening });
  }
  const first = await publish(contributors[0]!, C, PKGDIR());
  assert.deepEqual(first.packages.map((p) => p.action), ['uploaded', 'uploaded', 'uploaded']);
  // The others already have the same output: they donate signatures; bob and carol also serve copies.
  const second = await publish(contributors[1]!, C, PKGDIR(), ['--serve']);
  assert.deepEqual(second.packages.map((p) => p.action), ['served-copy', 'served-copy', 'served-copy']);
  const third = await publish(contributors[2]!, C, PKGDIR(), ['--serve']);
  const hello = third.packages.find((p) => p.cpv === 'app-misc/hello-1.0')!;

  // carol's copy of hello is corrupted on her disk: she will serve wrong bytes.
  const carolBlob = (await BlobStore.open(contributors[2]!.data)).path(hello.archive);
  const bytes = readFileSync(carolBlob);
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  writeFileSync(carolBlob, bytes);

  const gw2 = await startBinswarm<{ listening: string; served: number }>(['gateway', '--coordinator', C, '--data', join(dir, 'gw2'), '--policy', policy(dir, 'k2', 'threshold = 2\n'), '--listen', '127.0.0.1:0', '--interval', '3600', '--key', w.consumer], t, 120_000);
  assert.equal(gw2.ready.served, 3, gw2.stderr());
  const install = await runGetbinpkg(gw2.ready.listening, ['app-misc/hello']);
  assert.equal(install.report.ok, true, `emerge from the gateway failed: ${install.report.error}\n${install.log.slice(-3000)}`);
  assert.deepEqual([...install.report.merged].sort(), ['app-misc/hello-1.0', 'dev-libs/libgreet-1.0']);
  const holders = (await (await fetch(`${C}/v1/archives/${hello.archive}`)).json()) as { holders: { url: string; failures: number }[] };
  assert.equal(holders.holders.find((h) => h.url === contributors[2]!.url)?.failures, 1, 'the lying holder was reported');
  if (!full) return;

  const gw4 = await startBinswarm<{ listening: string; served: number }>(['gateway', '--coordinator', C, '--data', join(dir, 'gw4'), '--policy', policy(dir, 'k4', 'threshold = 4\n'), '--listen', '127.0.0.1:0', '--interval', '3600', '--key', w.consumer], t, 120_000);
  assert.equal(gw4.ready.served, 0, gw4.stderr());
  const refused = await runGetbinpkg(gw4.ready.listening, ['app-misc/hello']);
  assert.equal(refused.report.ok, false);
  assert.notEqual(refused.report.emerge_rc, 0, 'emerge fails cleanly: nothing to install');
  assert.equal(refused.report.merged.length, 0);

  // A divergent build of the same config → a dispute, shown by the API, and hello withheld.
  const divergent = await publish(contributors[2]!, C, await divergentHello(dir));
  assert.equal(divergent.packages[0]!.dispute?.length, 2);
  const disputes = (await (await fetch(`${C}/v1/disputes`)).json()) as { items: { cpv: string; outputDigests: string[] }[] };
  assert.deepEqual(disputes.items.map((d) => d.cpv), ['app-misc/hello-1.0']);
  assert.equal((await fetch(`${gw2.ready.listening}/-/refresh`, { method: 'POST' })).status, 200);
  const index = await (await fetch(`${gw2.ready.listening}/Packages`)).text();
  assert.doesNotMatch(index, /CPV: app-misc\/hello-1\.0/);
  assert.match(index, /CPV: dev-libs\/libgreet-1\.0/);
  const status = (await (await fetch(`${gw2.ready.listening}/-/status`)).json()) as { decisions: { cpv: string; status: string }[] };
  assert.equal(status.decisions.find((d) => d.cpv === 'app-misc/hello-1.0')?.status, 'disputed');
  const withheld = await fetch(`${gw2.ready.listening}/app-misc/hello/hello-1.0-1.gpkg.tar`);
  assert.equal(withheld.status, 404);
}

test('network on SQLite: real emerge installs trusted packages; K too high, disputes and a lying holder are handled', { timeout: 600_000 }, async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  if (!need(t, portageAvailable, 'the real Portage client (../shared/tools/portage)')) return;
  await flow(t);
});

test('the same network on PostgreSQL', { timeout: 600_000 }, async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  if (!need(t, portageAvailable, 'the real Portage client (../shared/tools/portage)')) return;
  if (!need(t, hasPostgres, 'PostgreSQL server binaries (apt-get install postgresql)')) return;
  const pg = await startPostgres(t);
  await flow(t, pg.url, false);
});

test('the USE filter: emerge --getbinpkgonly installs the build matching the local USE, not the highest BUILD_ID', { timeout: 300_000 }, async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  if (!need(t, portageAvailable, 'the real Portage client (../shared/tools/portage)')) return;
  const dir = await tempDir(t);
  const w = await world(dir);
  const coord = await startBinswarm<{ listening: string }>(['coordinator', '--data', join(dir, 'coord'), '--listen', '127.0.0.1:0', '--roots', w.rootPub], t);
  const C = coord.ready.listening;
  // Two operators publish the multi-instance PKGDIR: hello `nls` (BUILD_ID 1) and hello `debug -nls` (BUILD_ID 2).
  for (const [i, p] of w.people.slice(0, 2).entries()) {
    const data = join(dir, `node-${p.name}`);
    const node = await startBinswarm<{ listening: string }>(['node', '--roles', 'contribute', '--coordinator', C, '--data', data, '--key', p.key, '--listen', '127.0.0.1:0'], t);
    await publish({ ...p, data, url: node.ready.listening }, C, join(fixturesDir, 'multi'), i === 0 ? [] : ['--serve']);
  }
  const gw = await startBinswarm<{ listening: string; served: number }>(['gateway', '--coordinator', C, '--data', join(dir, 'gw'), '--policy', policy(dir, 'k2', 'threshold = 2\n'), '--listen', '127.0.0.1:0', '--interval', '3600', '--use', 'nls'], t, 120_000);
  const index = await (await fetch(`${gw.ready.listening}/Packages`)).text();
  assert.deepEqual([...index.matchAll(/^USE: (.*nls.*|.*debug.*)$/gm)].map((m) => m[1]), ['amd64 elibc_glibc kernel_linux nls'], 'only the nls build of hello is listed');
  const install = await runGetbinpkg(gw.ready.listening, ['app-misc/hello'], ['--use', 'nls', '--expect-use=nls', '--expect-use=-debug']);
  assert.equal(install.report.ok, true, `emerge: ${install.report.error}\n${install.log.slice(-3000)}`);
  assert.ok(install.report.merged.includes('app-misc/hello-1.0'));
});

test('node --watch contributes a PKGDIR once its index appears, stores and offers the archives', { timeout: 120_000 }, async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  const dir = await tempDir(t);
  const w = await world(dir);
  const coord = await startBinswarm(['coordinator', '--data', join(dir, 'coord'), '--listen', '127.0.0.1:0', '--roots', w.rootPub], t);
  const C = coord.ready.listening;
  const watched = join(dir, 'binpkgs');
  mkdirSync(watched);
  const alice = w.people[0]!;
  const data = join(dir, 'node-alice');
  const node = await startBinswarm<{ listening: string }>(['node', '--roles', 'contribute', '--coordinator', C, '--data', data, '--key', alice.key, ...alice.certs.flatMap((c) => ['--cert', c]), '--listen', '127.0.0.1:0', '--watch', watched, '--watch-interval', '1'], t);
  const client = new CoordinatorClient(C);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await client.packages({})).length, 0, 'nothing before the PKGDIR has an index');
  await cp(PKGDIR(), watched, { recursive: true });
  const expected = (await readPackagesIndexFile(join(PKGDIR(), 'Packages'))).packages.map((p) => p.get('CPV')).sort();
  // Attestations are submitted before the archives are stored and announced: wait for both.
  const holders = async (ps: Awaited<ReturnType<typeof client.packages>>) => (await Promise.all(ps.map(async (p) => (await client.archive(openAttestation(p.attestations[0]!.envelope).statement.archive.sha256))?.holders.length ?? 0))).every((n) => n > 0);
  let packages = await client.packages({});
  for (let i = 0; i < 60 && (packages.length < expected.length || !(await holders(packages))); i++) {
    await new Promise((r) => setTimeout(r, 500));
    packages = await client.packages({});
  }
  assert.deepEqual(packages.map((p) => p.cpv).sort(), expected, node.stderr());
  for (const p of packages) {
    const sha = openAttestation(p.attestations[0]!.envelope).statement.archive.sha256;
    assert.deepEqual((await client.archive(sha))?.holders.map((h) => h.url), [node.ready.listening]);
    assert.ok(await (await BlobStore.open(data)).has(sha), 'the node keeps what it offers');
  }
});
