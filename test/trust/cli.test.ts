import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeGpkg } from '../../src/formats/gpkg-write.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';

async function ok(args: string[]): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, 0, `binswarm ${args.join(' ')}\n${r.stderr}`);
  return r.stdout;
}

test('keys, certificates, attestations and trust explain from the command line', async (t) => {
  const dir = await tempDir(t);
  const k = (n: string) => join(dir, `${n}.key`);
  const rootId = (await ok(['keygen', '--out', k('root')])).trim();
  assert.match(rootId, /^[0-9a-f]{64}$/);
  assert.equal(statSync(k('root')).mode & 0o777, 0o600);
  const again = await runCli(['keygen', '--out', k('root')]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /refusing to overwrite.*\[FILE_EXISTS\]/);

  for (const n of ['alice', 'bob', 'a1', 'b1']) await ok(['keygen', '--out', k(n)]);
  await ok(['certify', '--key', k('root'), '--subject', `${k('alice')}.pub`, '--role', 'operator', '--name', 'alice', '--not-before', '2026-01-01T00:00:00Z', '--out', join(dir, 'alice.cert.json')]);
  await ok(['certify', '--key', k('root'), '--subject', `${k('bob')}.pub`, '--role', 'operator', '--name', 'bob', '--not-before', '2026-01-01T00:00:00Z', '--out', join(dir, 'bob.cert.json')]);
  await ok(['certify', '--key', k('alice'), '--subject', `${k('a1')}.pub`, '--role', 'builder', '--name', 'alice-1', '--not-before', '2026-01-01T00:00:00Z', '--out', join(dir, 'a1.cert.json')]);
  await ok(['certify', '--key', k('bob'), '--subject', `${k('b1')}.pub`, '--role', 'builder', '--name', 'bob-1', '--not-before', '2026-01-01T00:00:00Z', '--out', join(dir, 'b1.cert.json')]);

  const tree = join(dir, 'tree');
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  writeFileSync(join(tree, 'usr/bin/demo'), 'demo\n');
  const pkg = join(dir, 'demo-1.0.gpkg.tar');
  await writeGpkg({ imageDir: tree, metadata: { CATEGORY: 'app-misc\n', PF: 'demo-1.0\n', SLOT: '0\n', EAPI: '8\n', CHOST: 'x86_64-pc-linux-gnu\n', USE: '\n' }, out: pkg, basename: 'demo-1.0' });
  const att = join(dir, 'atts');
  mkdirSync(att);
  await ok(['attest', pkg, '--key', k('a1'), '--time', '2026-02-01T00:00:00Z', '--out', join(att, 'a1.json')]);
  await ok(['attest', pkg, '--key', k('b1'), '--kind', 'verify', '--time', '2026-02-02T00:00:00Z', '--out', join(att, 'b1.json')]);

  const v = JSON.parse(await ok(['verify-attestation', '--json', join(att, 'a1.json')]));
  assert.equal(v.valid, true);
  assert.equal(v.statement.cpv, 'app-misc/demo-1.0');
  const inspect = JSON.parse(await ok(['inspect', '--json', pkg]));
  assert.equal(v.statement.outputDigest, inspect.outputDigest);
  assert.equal(v.statement.archive.sha256, inspect.archive.sha256);

  // A tampered attestation: exit 2, one line on stderr, JSON error on stdout.
  const env = JSON.parse(readFileSync(join(att, 'a1.json'), 'utf8'));
  const stmt = JSON.parse(Buffer.from(env.payload, 'base64').toString());
  stmt.outputDigest = 'f'.repeat(64);
  writeFileSync(join(dir, 'tampered.json'), JSON.stringify({ ...env, payload: Buffer.from(JSON.stringify(stmt)).toString('base64') }));
  const bad = await runCli(['verify-attestation', '--json', join(dir, 'tampered.json')]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  assert.match(bad.stderr, /tampered\.json: signature does not verify \[BAD_SIGNATURE\]/);
  assert.equal(JSON.parse(bad.stdout).error.code, 'BAD_SIGNATURE');

  writeFileSync(join(dir, 'policy.toml'), `roots = ["root.key.pub"]\nthreshold = 2\n`);
  const certs = ['alice', 'bob', 'a1', 'b1'].map((n) => join(dir, `${n}.cert.json`));
  const human = await ok(['trust', 'explain', '--policy', join(dir, 'policy.toml'), '--now', '2026-03-01T00:00:00Z', att, ...certs]);
  assert.match(human, /app-misc\/demo-1\.0 {2}\[TRUSTED\] {2}level 2, required 2/);
  assert.match(human, /alice \(operator [0-9a-f]{12}\): builders alice-1/);
  writeFileSync(join(dir, 'policy3.toml'), `roots = ["root.key.pub"]\nthreshold = 3\n`);
  const json = JSON.parse(await ok(['trust', 'explain', '--json', '--policy', join(dir, 'policy3.toml'), '--now', '2026-03-01T00:00:00Z', att, ...certs]));
  assert.equal(json.results[0].status, 'untrusted');
  // Without bob's operator certificate, bob's builder does not count, and the output says why.
  const partial = await ok(['trust', 'explain', '--policy', join(dir, 'policy.toml'), '--now', '2026-03-01T00:00:00Z', att, certs[0]!, certs[2]!, certs[3]!]);
  assert.match(partial, /\[UNTRUSTED\] {2}level 1/);
  assert.match(partial, /✘ verify by builder [0-9a-f]{12}: builder key [0-9a-f]{12} is not certified/);
  // Revoking bob's builder before its attestation cuts it.
  await ok(['revoke', '--key', k('bob'), '--subject', `${k('b1')}.pub`, '--at', '2026-01-15T00:00:00Z', '--out', join(dir, 'rev.json')]);
  const revoked = await ok(['trust', 'explain', '--policy', join(dir, 'policy.toml'), '--now', '2026-03-01T00:00:00Z', att, ...certs, join(dir, 'rev.json')]);
  assert.match(revoked, /\[UNTRUSTED\]/);
  assert.match(revoked, /builder key revoked/);
  // A bad policy is a clear error.
  writeFileSync(join(dir, 'bad.toml'), 'threshold = 2\n');
  const bp = await runCli(['trust', 'explain', '--policy', join(dir, 'bad.toml'), att]);
  assert.equal(bp.code, 2);
  assert.match(bp.stderr, /bad\.toml: roots: .*\[BAD_POLICY\]/);
});
