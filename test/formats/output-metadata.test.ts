/** A metadata sheet is bound to the attested outputDigest: any change to a listed file or the image digest is refused. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspectPackage } from '../../src/formats/inspect.js';
import { verifyOutputMetadata } from '../../src/formats/output-metadata.js';
import { fixturesDir, hasFixtures, need } from '../helpers/env.js';

test('a sheet verifies against its outputDigest; forged content, listings or image digests do not', async (t) => {
  if (!need(t, hasFixtures, '../shared/fixtures/portage')) return;
  const info = await inspectPackage(join(fixturesDir, 'zstd', 'app-misc/hello-1.0.gpkg.tar'));
  const sheet = info.outputMetadata;
  const { metadata } = verifyOutputMetadata(JSON.parse(JSON.stringify(sheet)), info.outputDigest);
  assert.equal(metadata.cpv, 'app-misc/hello-1.0');
  assert.deepEqual(metadata.use, info.metadata.use);
  assert.ok(!sheet.files.some((f) => f.name === 'environment' && f.content !== undefined), 'the environment is listed, not shipped');
  const edit = (fn: (s: typeof sheet) => void) => {
    const copy = JSON.parse(JSON.stringify(sheet)) as typeof sheet;
    fn(copy);
    return copy;
  };
  const rdepend = (s: typeof sheet) => s.files.find((f) => f.name === 'RDEPEND')!;
  // Content changed, listing kept: the content no longer matches its sha256.
  assert.throws(() => verifyOutputMetadata(edit((s) => (rdepend(s).content = Buffer.from('dev-libs/evil').toString('base64'))), info.outputDigest), { code: 'OUTPUT_METADATA_MISMATCH' });
  // Content and listing changed together: the metadataDigest no longer matches.
  const evil = Buffer.from('dev-libs/evil\n');
  const { createHash } = await import('node:crypto');
  assert.throws(() => verifyOutputMetadata(edit((s) => Object.assign(rdepend(s), { content: evil.toString('base64'), size: evil.length, sha256: createHash('sha256').update(evil).digest('hex') })), info.outputDigest), { code: 'OUTPUT_METADATA_MISMATCH' });
  assert.throws(() => verifyOutputMetadata(edit((s) => (s.imageDigest = '0'.repeat(64))), info.outputDigest), { code: 'OUTPUT_METADATA_MISMATCH' });
  assert.throws(() => verifyOutputMetadata(edit((s) => s.files.pop()), info.outputDigest), { code: 'OUTPUT_METADATA_MISMATCH' });
  assert.throws(() => verifyOutputMetadata(edit((s) => s.files.push({ ...s.files[0]! })), info.outputDigest), { code: 'BAD_OUTPUT_METADATA' });
  assert.throws(() => verifyOutputMetadata({ imageDigest: 'x', files: [] }, info.outputDigest), { code: 'BAD_OUTPUT_METADATA' });
});
