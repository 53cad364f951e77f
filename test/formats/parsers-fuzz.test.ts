/**
 * Bounded fuzzing of every parser that reads untrusted bytes: the outcome is
 * a result or a BinswarmError — never another exception, never a hang.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseAtom } from '../../src/formats/atom.js';
import { depAbiFromDepend } from '../../src/formats/digests.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { parseManifest } from '../../src/formats/manifest.js';
import { formatPackagesIndex, parsePackagesIndex } from '../../src/formats/packages-index.js';
import { compareVersions, parseVersion } from '../../src/formats/version.js';
import { BinswarmError } from '../../src/errors.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';
import { craftGpkg, demoMembers } from '../helpers/gpkg-craft.js';

function onlyTyped(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof BinswarmError)) throw e;
  }
}

async function onlyTypedAsync(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof BinswarmError)) throw new Error(`untyped error: ${(e as Error)?.stack ?? e}`);
  }
}

test('text parsers: arbitrary input gives a result or a typed error', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      onlyTyped(() => parsePackagesIndex(s));
      onlyTyped(() => parseAtom(s));
      onlyTyped(() => parseVersion(s));
      onlyTyped(() => parseManifest(Buffer.from(s)));
      depAbiFromDepend(s);
    }),
    { numRuns: 3000 },
  );
});

test('Packages: format(parse(x)) is a fixed point on mutated real indexes', (t) => {
  if (!need(t, hasFixtures, '../shared fixtures')) return;
  const real = readFileSync(join(fixturesDir, 'multi/Packages'), 'utf8');
  fc.assert(
    fc.property(fc.nat(real.length), fc.string({ maxLength: 20 }), (at, insert) => {
      const s = real.slice(0, at) + insert + real.slice(at);
      try {
        const once = formatPackagesIndex(parsePackagesIndex(s));
        assert.equal(formatPackagesIndex(parsePackagesIndex(once)), once);
      } catch (e) {
        if (!(e instanceof BinswarmError)) throw e;
      }
    }),
    { numRuns: 500 },
  );
});

const versionArb = fc
  .tuple(
    fc.array(fc.nat(30), { minLength: 1, maxLength: 4 }),
    fc.constantFrom('', 'a', 'z'),
    fc.array(fc.tuple(fc.constantFrom('alpha', 'beta', 'pre', 'rc', 'p'), fc.option(fc.nat(9))), { maxLength: 2 }),
    fc.option(fc.nat(5)),
  )
  .map(([nums, letter, sfx, rev]) => `${nums.join('.')}${letter}${sfx.map(([k, n]) => `_${k}${n ?? ''}`).join('')}${rev === null ? '' : `-r${rev}`}`);

test('version order is antisymmetric and transitive', () => {
  fc.assert(
    fc.property(versionArb, versionArb, versionArb, (a, b, c) => {
      assert.equal(compareVersions(a, b), -compareVersions(b, a) || 0);
      if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0) assert.ok(compareVersions(a, c) <= 0, `${a} ${b} ${c}`);
    }),
    { numRuns: 2000 },
  );
});

test('gpkg reader: random bytes and mutated archives give only typed errors', async (t) => {
  const dir = await tempDir(t);
  const good = await craftGpkg(await demoMembers());
  let n = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
        fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
          const b = Buffer.from(good);
          b[i] = b[i]! ^ x;
          return b;
        }),
        fc.nat(good.length).map((cut) => good.subarray(0, cut)),
      ),
      async (bytes) => {
        const p = join(dir, `f${n++}.gpkg.tar`);
        writeFileSync(p, bytes);
        // A hang is a failure too: give each case a deadline.
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_r, reject) => {
          timer = setTimeout(() => reject(new Error(`hang on ${p}`)), 20_000);
        });
        try {
          await Promise.race([onlyTypedAsync(() => inspectPackage(p)), deadline]);
        } finally {
          clearTimeout(timer);
        }
      },
    ),
    { numRuns: 150 },
  );
});
