/**
 * A gateway that meets an attested archive it must refuse (here: one built
 * before the image entry rule, with an entry that leaves image/) never
 * serves it: the gateway lists builds from their metadata sheets without
 * downloading, so the archive is refused when Portage asks for it — read
 * completely first, not a byte sent — then unlisted, not kept, never
 * fetched again, and /-/status says why; the good package beside it is served.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoordinatorClient } from '../../src/api/client.js';
import { buildCoordinatorApp } from '../../src/coordinator/server.js';
import { openStore } from '../../src/coordinator/store/sql-store.js';
import Fastify from 'fastify';
import { metadataDigestOf, outputDigestOf } from '../../src/formats/digests.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { outputMetadataOf } from '../../src/formats/output-metadata.js';
import { registerBlobRoutes } from '../../src/node/blob-server.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { buildGatewayApp } from '../../src/gateway/server.js';
import { pieceRootOfFile } from '../../src/transfer/pieces.js';
import { BlobStore } from '../../src/transfer/blob-store.js';
import { generateKey } from '../../src/trust/keys.js';
import { signAttestation } from '../../src/trust/statements.js';
import { tempDir } from '../helpers/env.js';
import { craftGpkg, demoMembers, tarOf, withImage } from '../helpers/gpkg-craft.js';
import { coordinatorWithBuilder } from '../helpers/one-builder.js';
import { DAY } from '../helpers/trust-world.js';

test('an attested archive with a hostile image entry is not listed; /-/status says why', async (t) => {
  const dir = await tempDir(t);
  const { w, builder, store, url } = await coordinatorWithBuilder(t, dir);
  const client = new CoordinatorClient(url, builder);
  for (const c of w.certificates) await client.submitCertificate(c);

  const good = join(dir, 'good.gpkg.tar');
  writeFileSync(good, await craftGpkg(await demoMembers()));
  const hostile = join(dir, 'hostile.gpkg.tar');
  const md = { CATEGORY: 'app-misc\n', PF: 'escape-1.0\n', SLOT: '0\n', EAPI: '8\n', USE: 'amd64\n', CHOST: 'x86_64-pc-linux-gnu\n' };
  const escaping = await tarOf([{ name: 'image/', type: 'directory' }, { name: 'image/../../escape', data: Buffer.from('owned\n') }]);
  const members = await demoMembers({ metadata: md });
  writeFileSync(hostile, await craftGpkg([members[0]!, members[1]!, (await withImage(escaping))[2]!]));
  await assert.rejects(inspectPackage(hostile), { code: 'HOSTILE_ENTRY' });

  // Attested (and its metadata sheet published) as a builder without the rule would have:
  // its own metadata, the good package's config with another CPV, the digest an old reader computed.
  const info = await inspectPackage(good);
  const oldImageDigest = 'ab'.repeat(32);
  const files = new Map(Object.entries(md).map(([k, v]) => [k, Buffer.from(v)]));
  const hostileOutput = outputDigestOf(oldImageDigest, metadataDigestOf(files));
  const holder = join(dir, 'holder');
  const blobs = await BlobStore.open(holder);
  const holderApp = Fastify();
  registerBlobRoutes(holderApp, blobs);
  const holderUrl = await holderApp.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => holderApp.close());
  let hostileSha = '';
  for (const [path, cfg, output, sheet] of [[good, info.buildConfig, info.outputDigest, info.outputMetadata], [hostile, { ...info.buildConfig, cpv: 'app-misc/escape-1.0' }, hostileOutput, outputMetadataOf(oldImageDigest, files)]] as const) {
    const { sha256, size } = await blobs.importFile(path);
    const archive = { sha256, size, pieceRoot: await pieceRootOfFile(path) };
    await client.submitAttestation(signAttestation({ kind: 'build', buildConfig: cfg, outputDigest: output, archive, time: new Date() }, builder));
    await client.submitOutputMetadata(output, sheet);
    await client.announceHolder(sha256, holderUrl);
    if (path === hostile) hostileSha = sha256;
  }

  const policy = { roots: [w.root.publicKey], threshold: 1, overrides: [], onDispute: 'reject' as const, witnesses: { keys: [], required: 0 }, log: undefined, maxStalenessMs: DAY };
  const gw = join(dir, 'gw');
  const gateway = await Gateway.open({ coordinator: url, dataDir: gw, policy, chost: 'x86_64-pc-linux-gnu' });
  t.after(() => gateway.close());
  const server = buildGatewayApp(gateway);
  const gwUrl = await server.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => server.close());
  const view = await gateway.refresh();
  assert.deepEqual([...view.packages.values()].map((p) => p.cpv).sort(), ['app-misc/demo-1.0', 'app-misc/escape-1.0'], 'listed from the sheets, nothing downloaded yet');
  const path = (cpv: string) => [...gateway.current()!.packages.values()].find((p) => p.cpv === cpv)?.path;
  const escape = path('app-misc/escape-1.0')!;
  const got = await fetch(`${gwUrl}/${escape}`);
  assert.equal(got.status, 502);
  assert.equal(((await got.json()) as { error: { code: string } }).error.code, 'HOSTILE_ENTRY');
  assert.equal((await fetch(`${gwUrl}/${path('app-misc/demo-1.0')}`)).status, 200);
  const gwBlobs = await BlobStore.open(gw);
  for (let round = 0; round < 2; round++) {
    // The second refresh remembers the verdict: the archive is neither listed, fetched nor read again.
    if (round === 1) await gateway.refresh();
    const index = await (await fetch(`${gwUrl}/Packages`)).text();
    assert.match(index, /CPV: app-misc\/demo-1\.0/);
    assert.doesNotMatch(index, /escape/);
    assert.equal((await fetch(`${gwUrl}/${escape}`)).status, 404);
    const status = (await (await fetch(`${gwUrl}/-/status`)).json()) as { decisions: { cpv: string; status: string }[]; refused: { cpv: string; archive: string; code: string; reason: string }[] };
    assert.equal(status.decisions.find((d) => d.cpv === 'app-misc/escape-1.0')?.status, 'trusted', 'the policy trusts it; the archive is what is refused');
    assert.equal(status.refused.length, 1);
    const r = status.refused[0]!;
    assert.equal(r.cpv, 'app-misc/escape-1.0');
    assert.equal(r.archive, hostileSha);
    assert.equal(r.code, 'HOSTILE_ENTRY');
    assert.match(r.reason, /"image\/\.\.\/\.\.\/escape".*rule dot-dot/);
    assert.equal(await gwBlobs.has(hostileSha), false, 'the refused archive is not kept');
  }
});
