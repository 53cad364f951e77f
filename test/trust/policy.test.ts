import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateKey, publicKeyToPem } from '../../src/trust/keys.js';
import { loadPolicy, parsePolicy, thresholdFor, variantsFor } from '../../src/trust/policy.js';
import { tempDir } from '../helpers/env.js';

test('a full policy file loads, keys relative to it', async (t) => {
  const dir = await tempDir(t);
  const root = generateKey();
  const w = generateKey();
  writeFileSync(join(dir, 'root.pub'), publicKeyToPem(root.publicKey));
  writeFileSync(join(dir, 'w.pub'), publicKeyToPem(w.publicKey));
  writeFileSync(
    join(dir, 'policy.toml'),
    `roots = ["root.pub"]\nthreshold = 3\non-dispute = "majority"\n[overrides]\n"sys-libs/glibc" = 4\n"app-crypt/*" = "never"\n[witnesses]\nrequired = 1\nkeys = [{ name = "w1.example", key = "w.pub" }]\n`,
  );
  const p = loadPolicy(join(dir, 'policy.toml'));
  assert.equal(p.roots[0]!.id, root.publicKey.id);
  assert.equal(p.threshold, 3);
  assert.equal(p.onDispute, 'majority');
  assert.equal(p.witnesses.keys[0]!.name, 'w1.example');
  assert.equal(thresholdFor(p, 'sys-libs/glibc-2.40-r3'), 4);
  assert.equal(thresholdFor(p, 'app-crypt/gnupg-2.4.5'), 'never');
  assert.equal(thresholdFor(p, 'app-misc/hello-1.0'), 3);
});

test('defaults and opting out entirely', () => {
  const pem = publicKeyToPem(generateKey().publicKey);
  const p = parsePolicy(`roots = [${JSON.stringify(pem)}]\n`, '/');
  assert.deepEqual([p.threshold, p.onDispute, p.witnesses.required], [2, 'reject', 0]);
  assert.equal(thresholdFor(parsePolicy(`roots = [${JSON.stringify(pem)}]\nthreshold = "never"\n`, '/'), 'app-misc/hello-1.0'), 'never');
});

test('bad policies are refused with the reason', () => {
  const pem = JSON.stringify(publicKeyToPem(generateKey().publicKey));
  const cases: [string, RegExp][] = [
    ['roots = [', /TOML/],
    ['threshold = 2\n', /roots/],
    [`roots = [${pem}]\nthreshold = 0\n`, /threshold/],
    [`roots = [${pem}]\nthreshold = "sometimes"\n`, /threshold/],
    [`roots = [${pem}]\non-dispute = "coin"\n`, /on-dispute/],
    [`roots = [${pem}]\n[overrides]\n"not an atom" = 2\n`, /overrides/],
    [`roots = [${pem}]\nunknown = 1\n`, /unknown|Unrecognized/i],
    [`roots = ["missing.pub"]\n`, /cannot read key file/],
    [`roots = [${pem}]\n[witnesses]\nrequired = 2\n`, /witnesses.required/],
  ];
  for (const [text, re] of cases) assert.throws(() => parsePolicy(text, '/nonexistent'), (e: { code?: string; message: string }) => e.code === 'BAD_POLICY' && re.test(e.message), text);
});

test('layering: src/trust/ stands alone — it never imports src/log/ (log/ builds on trust/)', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = new URL('../../../src/trust/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.includes('keys.ts'));
  for (const f of files) assert.doesNotMatch(readFileSync(new URL(f, dir), 'utf8'), /from '\.\.\/log\//, `src/trust/${f} imports src/log/`);
});

test('max-staleness: a duration (s, m, h, d), 7 days by default; anything else is refused', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'root.pub'), publicKeyToPem(generateKey().publicKey));
  const base = 'roots = ["root.pub"]\n';
  assert.equal(parsePolicy(base, dir).maxStalenessMs, 7 * 86_400_000);
  assert.equal(parsePolicy(`${base}max-staleness = "12h"\n`, dir).maxStalenessMs, 12 * 3_600_000);
  assert.equal(parsePolicy(`${base}max-staleness = 90\n`, dir).maxStalenessMs, 90_000);
  for (const bad of ['"soon"', '"0s"', '"-1d"', '"7w"']) assert.throws(() => parsePolicy(`${base}max-staleness = ${bad}\n`, dir), { code: 'BAD_POLICY' }, bad);
});

test('variants: overall and per package, best first, "full" always the fallback; unknown names refused', () => {
  const pem = JSON.stringify(publicKeyToPem(generateKey().publicKey));
  const p = parsePolicy(`roots = [${pem}]\nvariants = ["slim"]\n[package-variants]\n"app-doc/*" = ["full"]\n"dev-libs/libgreet" = ["nodoc", "slim"]\n`, '/');
  assert.deepEqual(variantsFor(p, 'app-misc/hello-1.0'), ['slim', 'full']);
  assert.deepEqual(variantsFor(p, 'app-doc/greet-doc-1.0'), ['full']);
  assert.deepEqual(variantsFor(p, 'dev-libs/libgreet-2.0'), ['nodoc', 'slim', 'full']);
  assert.deepEqual(variantsFor(parsePolicy(`roots = [${pem}]\n`, '/'), 'app-misc/hello-1.0'), ['full']);
  assert.throws(() => parsePolicy(`roots = [${pem}]\nvariants = ["tiny"]\n`, '/'), (e: { code?: string; message: string }) => e.code === 'BAD_POLICY' && /variants/.test(e.message));
  assert.throws(() => parsePolicy(`roots = [${pem}]\n[package-variants]\n"bad atom" = ["slim"]\n`, '/'), /package-variants/);
});
