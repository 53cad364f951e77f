/**
 * Bounded fuzzing of every parser that reads untrusted bytes: the outcome is
 * a result or a BinswarmError — never another exception, never a hang.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseAtom } from '../../src/formats/atom.js';
import { createHash } from 'node:crypto';
import { depAbiFromDepend, ImageDigester } from '../../src/formats/digests.js';
import { extractTar } from '../../src/formats/extract.js';
import { ImageEntryRule, type HostileEntryError } from '../../src/formats/image-entry.js';
import { tarEntries } from '../../src/formats/tar.js';
import { digestImageTar } from '../../src/formats/image-tar.js';
import { inspectPackage } from '../../src/formats/inspect.js';
import { parseManifest } from '../../src/formats/manifest.js';
import { formatPackagesIndex, parsePackagesIndex } from '../../src/formats/packages-index.js';
import { compareVersions, parseVersion } from '../../src/formats/version.js';
import { BinswarmError } from '../../src/errors.js';
import { fixturesDir, hasFixtures, need, tempDir } from '../helpers/env.js';
import { craftGpkg, demoMembers, rawTar } from '../helpers/gpkg-craft.js';

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

/** The image digest as computed before tar-strict.ts: tar-stream framing, the same rule and digester. */
async function tarStreamDigest(tar: Buffer): Promise<{ imageDigest: string }> {
  const rule = new ImageEntryRule('image');
  const digester = new ImageDigester();
  for await (const { header, stream } of tarEntries(Readable.from([tar]))) {
    const { type, path, target } = rule.check(header);
    const base = { type, path, mode: header.mode ?? 0, uid: header.uid ?? 0, gid: header.gid ?? 0 };
    if (type === 'file') {
      const h = createHash('sha256');
      let size = 0;
      for await (const c of stream) {
        h.update(c as Buffer);
        size += (c as Buffer).length;
      }
      digester.add({ ...base, size, sha256: h.digest('hex') });
    } else if (type === 'symlink') digester.add({ ...base, target: header.linkname ?? '' });
    else if (type === 'hardlink') digester.add({ ...base, target });
    else digester.add(base);
  }
  return { imageDigest: digester.digest() };
}

/** Every path under `dir` (lstat, never following links), relative to it. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    out.push(r);
    if (d.isDirectory()) out.push(...walk(dir, r));
  }
  return out;
}

test('image tar entries (names, link targets, types): never a crash, never an accepted entry outside the root', async (t) => {
  const dir = await tempDir(t);
  // Absolute names point into this test's own directory, so a broken rule is caught here, not felt in /etc.
  const component = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('image', 'usr', 'a', 'b', '..', '.', '', 'x\0y', 'bad\uFFFD', dir.slice(1)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  );
  const wild = fc
    .tuple(fc.constantFrom('', './', '/', '//', 'image/', './image/', 'image/../'), fc.array(component, { maxLength: 5 }))
    .map(([lead, parts]) => lead + parts.join('/'));
  // Mostly plausible names over a tiny alphabet, so entries collide, nest under each other and link to each other.
  const plausible = fc
    .tuple(fc.constantFrom('image/', './image/', 'image//'), fc.array(fc.constantFrom('a', 'a', 'b', 'b', 'c', '.'), { minLength: 1, maxLength: 3 }), fc.constantFrom('', '/'))
    .map(([lead, parts, tail]) => lead + parts.join('/') + tail);
  const name = fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: wild });
  const entry = fc.record({
    name,
    typeflag: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('0', '5', '2', '1') }, { weight: 1, arbitrary: fc.constantFrom('3', '4', '6', '7', 'S', 'V', 'L', 'K', 'x', '\0', 'Z') }),
    linkname: fc.oneof(name, fc.constantFrom('/etc/passwd', '..', '../../..', '')),
    data: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    viaPax: fc.boolean(),
  });
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 8 }), async (entries) => {
      const tar = rawTar(
        entries.map((e) => {
          const data = ['0', '7', 'S', 'L', 'K', 'x', '\0', 'Z'].includes(e.typeflag) ? e.data : undefined;
          // Long or non-ASCII names and targets travel in PAX records, as real archivers write them.
          return e.viaPax ? { name: 'placeholder', typeflag: e.typeflag, data, pax: { path: e.name, linkpath: e.linkname } } : { name: e.name, typeflag: e.typeflag, data, linkname: e.linkname };
        }),
      );
      const base = join(dir, `case${n++}`, 'a', 'b');
      mkdirSync(base, { recursive: true });
      let digestErr: BinswarmError | undefined;
      let extractErr: BinswarmError | undefined;
      let digest: string | undefined;
      try {
        digest = (await digestImageTar(Readable.from([tar]), {}, 'fuzz')).imageDigest;
      } catch (e) {
        if (!(e instanceof BinswarmError)) throw new Error(`digest: untyped error: ${(e as Error)?.stack ?? e}`);
        digestErr = e;
      }
      try {
        await extractTar(Readable.from([tar]), join(base, 'out'), { stripPrefix: 'image/' });
      } catch (e) {
        if (!(e instanceof BinswarmError)) throw new Error(`extract: untyped error: ${(e as Error)?.stack ?? e}`);
        extractErr = e;
      }
      const hostile = (e?: BinswarmError) => (e?.code === 'HOSTILE_ENTRY' ? (e as HostileEntryError).rule : undefined);
      // The strict framing changes no digest: what it accepts, tar-stream reads to the same imageDigest.
      if (!digestErr) assert.equal((await tarStreamDigest(tar)).imageDigest, digest, JSON.stringify(entries));
      // One rule: what the reader accepts extracts, and both refuse the same entries for the same reason.
      assert.equal(hostile(extractErr), hostile(digestErr), `${digestErr?.message} / ${extractErr?.message}`);
      assert.equal(!!extractErr, !!digestErr, `${digestErr?.message} / ${extractErr?.message}`);
      // Nothing anywhere in the case's tree but the extracted root and what is under it.
      const caseDir = dirname(dirname(base));
      const outside = walk(caseDir).filter((p) => !['a', 'a/b', 'a/b/out'].includes(p) && !p.startsWith('a/b/out/'));
      assert.deepEqual(outside, [], `written outside the root: ${JSON.stringify(entries)}`);
      if (!extractErr) {
        for (const p of walk(join(base, 'out'))) {
          const st = lstatSync(join(base, 'out', p));
          assert.ok(st.isFile() || st.isDirectory() || st.isSymbolicLink(), `${p} is not a file, directory or symlink`);
        }
      }
      assert.deepEqual(readdirSync(dir).filter((f) => !f.startsWith('case')), [], 'nothing written beside the cases');
      rmSync(caseDir, { recursive: true, force: true });
    }),
    { numRuns: 400 },
  );
});
