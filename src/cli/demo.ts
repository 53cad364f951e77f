/**
 * `binswarm demo` (what `npm start` runs): a whole local network in one
 * process on embedded defaults — a trust root, three operators, a
 * coordinator, three contributor nodes publishing the same (generated,
 * reproducible) packages, one divergent build that opens a dispute, and a
 * consumer gateway with threshold 2 that Portage could use as a binhost.
 */
import { Command } from 'commander';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Fastify from 'fastify';
import { buildCoordinatorApp } from '../coordinator/server.js';
import { openStore } from '../coordinator/store/sql-store.js';
import { writeGpkg } from '../formats/gpkg-write.js';
import { inspectPackage } from '../formats/inspect.js';
import { packagesEntryOf } from '../formats/packages-entry.js';
import { writePackagesIndexFiles } from '../formats/packages-index.js';
import { Gateway } from '../gateway/gateway.js';
import { buildGatewayApp } from '../gateway/server.js';
import { openPortageSigning } from './portage-signing.js';
import { BlobStore } from '../transfer/blob-store.js';
import { registerBlobRoutes } from '../node/blob-server.js';
import { publishPkgdir } from '../node/contribute.js';
import { generateKey, publicKeyToPem } from '../trust/keys.js';
import { parsePolicy } from '../trust/policy.js';
import { signCertificate } from '../trust/statements.js';
import { readGpkg } from '../formats/gpkg-read.js';
import type { CliCommand } from './common.js';
import { untilSignal } from './listen.js';

const CHOST = 'x86_64-pc-linux-gnu';
const DAY = 86_400_000;

/** Two small packages, built the same way every time (fixed mtimes, sorted tar): reproducible. */
async function buildPackages(dir: string, variant = ''): Promise<string> {
  const pkgdir = join(dir, 'pkgdir');
  const specs = [
    { cat: 'app-misc', pf: 'hello-demo-1.0', files: { 'usr/bin/hello-demo': `#!/bin/sh\necho "hello from binswarm${variant}"\n` }, rdepend: 'dev-libs/libdemo:0/1=' },
    { cat: 'dev-libs', pf: 'libdemo-1.0', files: { 'usr/share/libdemo/README': 'a demo library\n' }, rdepend: '' },
  ];
  const entries: Map<string, string>[] = [];
  for (const s of specs) {
    const image = join(dir, 'image', s.pf);
    for (const [rel, text] of Object.entries(s.files)) {
      mkdirSync(join(image, rel, '..'), { recursive: true });
      writeFileSync(join(image, rel), text);
      if (rel.startsWith('usr/bin/')) chmodSync(join(image, rel), 0o755);
    }
    const metadata: Record<string, string> = {
      CATEGORY: `${s.cat}\n`, PF: `${s.pf}\n`, SLOT: s.cat === 'dev-libs' ? '0/1\n' : '0\n', EAPI: '8\n', CHOST: `${CHOST}\n`, USE: 'amd64\n', IUSE: '\n',
      CFLAGS: '-O2 -pipe\n', CXXFLAGS: '-O2 -pipe\n', LDFLAGS: '\n', KEYWORDS: 'amd64\n', LICENSE: 'MIT\n', RDEPEND: `${s.rdepend}\n`, DEPEND: `${s.rdepend}\n`,
      BUILD_TIME: '1790000000\n', repository: 'gentoo\n', DEFINED_PHASES: 'install\n', [`${s.pf}.ebuild`]: `EAPI=8\nDESCRIPTION="binswarm demo"\n`,
    };
    mkdirSync(join(pkgdir, s.cat), { recursive: true });
    const out = join(pkgdir, s.cat, `${s.pf}.gpkg.tar`);
    await writeGpkg({ imageDir: image, metadata, out, basename: s.pf, mtime: 1_790_000_000 });
    const info = await inspectPackage(out, { portageDigests: true });
    entries.push(packagesEntryOf((await readGpkg(out)).metadata, { path: `${s.cat}/${s.pf}.gpkg.tar`, size: info.archive.size, md5: info.md5!, sha1: info.sha1!, mtime: 1_790_000_000 }));
  }
  await writePackagesIndexFiles(pkgdir, { header: new Map([['CHOST', CHOST], ['PACKAGES', String(entries.length)], ['VERSION', '0']]), packages: entries });
  return pkgdir;
}

async function runDemo(o: { dir: string; once?: boolean; port: string }): Promise<void> {
  const say = (s: string) => console.log(s);
  const dir = resolve(o.dir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  const validity = { notBefore: new Date(now - DAY), notAfter: new Date(now + 30 * DAY) };

  say('1. Keys: a trust root certifies three operators; each certifies one builder key.');
  const root = generateKey();
  writeFileSync(join(dir, 'root.pub'), publicKeyToPem(root.publicKey));
  const ops = ['alice', 'bob', 'carol'].map((name) => {
    const op = generateKey();
    const builder = generateKey();
    return { name, builder, certs: [signCertificate({ role: 'operator', name, subject: op.publicKey, ...validity }, root), signCertificate({ role: 'builder', name: `${name}-builder`, subject: builder.publicKey, ...validity }, op)] };
  });

  say('2. Coordinator (SQLite) with its transparency log.');
  const store = await openStore(join(dir, 'coordinator', 'coordinator.db'));
  const { app: coordApp } = await buildCoordinatorApp({ store, key: generateKey(), roots: [root.publicKey] });
  const coordinator = await coordApp.listen({ host: '127.0.0.1', port: 0 });
  say(`   ${coordinator}  (API: ${coordinator}/v1/openapi.json)`);

  say('3. Three contributors build the same packages (reproducibly) and publish them.');
  const nodes: { close: () => Promise<void> }[] = [];
  for (const [i, op] of ops.entries()) {
    const data = join(dir, `node-${op.name}`);
    const blobs = await BlobStore.open(data);
    const nodeApp = Fastify();
    registerBlobRoutes(nodeApp, blobs);
    const url = await nodeApp.listen({ host: '127.0.0.1', port: 0 });
    nodes.push({ close: () => nodeApp.close() });
    const pkgdir = await buildPackages(join(dir, `build-${op.name}`));
    const r = await publishPkgdir(pkgdir, { coordinator, key: op.builder, certificates: op.certs, store: blobs, publicUrl: url, serve: i === 1 });
    for (const p of r.packages) say(`   ${op.name.padEnd(6)} ${p.cpv.padEnd(26)} ${p.action.padEnd(15)} log #${p.logIndex}`);
  }

  say('4. Carol publishes a different build of hello-demo with the same config: a dispute.');
  const odd = await buildPackages(join(dir, 'build-carol-odd'), ' (patched)');
  const carolStore = await BlobStore.open(join(dir, 'node-carol'));
  const carolApp = Fastify();
  registerBlobRoutes(carolApp, carolStore);
  const carolUrl = await carolApp.listen({ host: '127.0.0.1', port: 0 });
  nodes.push({ close: () => carolApp.close() });
  const disputed = await publishPkgdir(odd, { coordinator, key: ops[2]!.builder, certificates: [], store: carolStore, publicUrl: carolUrl });
  for (const p of disputed.packages.filter((x) => x.dispute)) say(`   dispute recorded for ${p.cpv}: ${p.dispute!.map((d) => d.slice(0, 12)).join(' vs ')}`);

  say('5. A consumer gateway, policy threshold = 2, on-dispute = "reject":');
  const policyText = 'roots = ["root.pub"]\nthreshold = 2\non-dispute = "reject"\n';
  writeFileSync(join(dir, 'policy.toml'), policyText);
  // Signed for Portage's own check with the key setup-portage will trust (DIR/gateway/gnupg).
  const signing = await openPortageSigning(join(dir, 'gateway'), {});
  const gw = await Gateway.open({ coordinator, dataDir: join(dir, 'gateway'), policy: parsePolicy(policyText, dir), chost: CHOST, key: generateKey(), signForPortage: signing });
  const view = await gw.refresh();
  const decisions = gw.decisions();
  for (const r of decisions) say(`   ${r.cpv.padEnd(26)} ${r.status.toUpperCase().padEnd(10)} ${r.why}`);
  const gwApp = buildGatewayApp(gw);
  const gateway = await gwApp.listen({ host: '127.0.0.1', port: Number(o.port) });
  say(`   binhost: ${gateway}/Packages lists ${view.packages.size} package(s): ${[...view.packages.keys()].join(', ') || '(none)'}`);
  say(`   why: ${gateway}/-/status`);
  say('');
  say(`Point Portage at it:  binswarm setup-portage --gateway ${gateway} --gateway-data ${resolve(dir, 'gateway')}   (then: emerge --getbinpkg …)`);

  const close = async () => {
    await gwApp.close();
    await signing?.close();
    await gw.close();
    for (const n of nodes) await n.close();
    await coordApp.close();
    await store.close();
  };
  if (o.once) {
    await close();
    process.stdout.write(`${JSON.stringify({ served: [...view.packages.keys()], decisions: decisions.map((r) => ({ cpv: r.cpv, status: r.status, level: r.level })) })}\n`);
    return;
  }
  say('The network keeps running; Ctrl-C stops it.');
  await untilSignal(close);
}

const command: CliCommand = {
  build() {
    return new Command()
      .description('Bring up a local network (coordinator, three contributors, a gateway) on embedded defaults and walk through it.')
      .option('--dir <dir>', 'where the demo keeps its state (wiped first)', '.demo')
      .option('--port <n>', 'gateway port (0 = any)', '7680')
      .option('--once', 'exit after the walkthrough (prints a JSON summary last)')
      .action(runDemo);
  },
};

export default command;
