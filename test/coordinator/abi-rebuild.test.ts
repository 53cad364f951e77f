/** ABI rebuild planning (pure, table tests): `:=` dependents and soname-only reverse dependencies of a library with a new slot/subslot. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planAbiRebuilds, refsOfConfig, reverseDependencyRefs, splitSlot, type AbiBuild } from '../../src/coordinator/abi-rebuild.js';
import type { BuildConfig } from '../../src/formats/build-config.js';

const CHOST = 'x86_64-pc-linux-gnu';
const cfg = (cpv: string, depAbi: string[] = [], chost = CHOST): BuildConfig => ({
  v: 1, cpv, repo: 'gentoo', ebuild: 'e'.repeat(64), eclasses: [], eapi: '8', chost, arch: 'amd64', use: [], cflags: '-O2', cxxflags: '-O2', ldflags: '', features: [], installMask: '', depAbi,
});
const b = (key: string, cpv: string, o: { depAbi?: string[]; slot?: string; provides?: string[]; requires?: string[]; chost?: string; links?: string[] } = {}): AbiBuild => ({
  configKey: `c-${key}`, buildKey: `b-${key}`, config: { ...cfg(cpv, o.depAbi, o.chost), ...(o.links ? { links: o.links } : {}) }, ...(o.slot !== undefined ? { slot: o.slot } : {}), provides: o.provides ?? [], requires: o.requires ?? [],
});

const lib1 = b('lib1', 'dev-libs/libgreet-1.0', { slot: '0/1', provides: ['libgreet.so.1'] });
const lib2 = b('lib2', 'dev-libs/libgreet-2.0', { slot: '0/2', provides: ['libgreet.so.2'] });

test('splitSlot: a SLOT without subslot has subslot = slot', () => {
  assert.deepEqual(splitSlot('0/2'), ['0', '2']);
  assert.deepEqual(splitSlot('3'), ['3', '3']);
  assert.deepEqual(splitSlot(' 1.2/1.2.3\n'), ['1.2', '1.2.3']);
});

test('planAbiRebuilds: which reverse dependencies get an abi-rebuild, against what', () => {
  const cases: { name: string; lib: AbiBuild; builds: AbiBuild[]; want: [configKey: string, depAbi: string[], reason: RegExp][] }[] = [
    {
      name: ':= dependent on the old subslot is rebuilt with the new depAbi entry (others kept, sorted)',
      lib: lib2,
      builds: [lib1, lib2, b('hello', 'app-misc/hello-1.0', { depAbi: ['dev-libs/libgreet:0/1', 'sys-libs/zlib:0/1'] })],
      want: [['c-hello', ['dev-libs/libgreet:0/2', 'sys-libs/zlib:0/1'], /:= dependency dev-libs\/libgreet:0\/1 → dev-libs\/libgreet:0\/2/]],
    },
    { name: 'already on the new subslot: nothing', lib: lib2, builds: [lib1, b('hello', 'app-misc/hello-1.0', { depAbi: ['dev-libs/libgreet:0/2'] })], want: [] },
    { name: 'a := dependency on another slot of the library: nothing', lib: lib2, builds: [lib1, b('hello', 'app-misc/hello-1.0', { depAbi: ['dev-libs/libgreet:1/1'] })], want: [] },
    { name: 'a package whose name only starts like the library: nothing', lib: lib2, builds: [lib1, b('hello', 'app-misc/hello-1.0', { depAbi: ['dev-libs/libgreet-extra:0/1'] })], want: [] },
    { name: 'other CHOST: nothing', lib: lib2, builds: [lib1, b('hello', 'app-misc/hello-1.0', { depAbi: ['dev-libs/libgreet:0/1'], chost: 'aarch64-unknown-linux-gnu' })], want: [] },
    {
      name: 'no := but REQUIRES a soname only the old build provides: rebuilt with its config as is',
      lib: lib2,
      builds: [lib1, b('tool', 'app-misc/tool-1.0', { requires: ['libc.so.6', 'libgreet.so.1'] })],
      want: [['c-tool', [], /links libgreet\.so\.1, which only older dev-libs\/libgreet:0 builds provide/]],
    },
    { name: 'REQUIRES a soname the new build still provides: nothing', lib: b('lib2', 'dev-libs/libgreet-2.0', { slot: '0/2', provides: ['libgreet.so.1', 'libgreet.so.2'] }), builds: [lib1, b('tool', 'app-misc/tool-1.0', { requires: ['libgreet.so.1'] })], want: [] },
    { name: 'soname of another slot of the library does not count', lib: lib2, builds: [b('lib1', 'dev-libs/libgreet-1.0', { slot: '1/1', provides: ['libgreet.so.1'] }), b('tool', 'app-misc/tool-1.0', { requires: ['libgreet.so.1'] })], want: [] },
    { name: 'an older version attested after a newer one moves nobody back', lib: lib1, builds: [lib2, lib1, b('hello', 'app-misc/hello-1.0', { depAbi: ['dev-libs/libgreet:0/2'] })], want: [] },
    { name: 'SLOT unknown (no listing uploaded with it): nothing', lib: b('lib2', 'dev-libs/libgreet-2.0', {}), builds: [lib1, b('hello', 'app-misc/hello-1.0', { depAbi: ['dev-libs/libgreet:0/1'] })], want: [] },
    {
      name: 'both kinds at once, the library itself never',
      lib: lib2,
      builds: [lib1, lib2, b('hello', 'app-misc/hello-1.0', { depAbi: ['dev-libs/libgreet:0/1'], requires: ['libgreet.so.1'] }), b('tool', 'app-misc/tool-1.0', { requires: ['libgreet.so.1'] }), b('other', 'app-misc/other-1.0')],
      want: [['c-hello', ['dev-libs/libgreet:0/2'], /:=/], ['c-tool', [], /links/]],
    },
  ];
  for (const c of cases) {
    const got = planAbiRebuilds(c.lib, c.builds);
    assert.deepEqual(got.map((r) => [r.configKey, r.config.depAbi]), c.want.map(([k, d]) => [k, d]), c.name);
    got.forEach((r, i) => assert.match(r.reason, c.want[i]![2], c.name));
    for (const r of got) {
      const old = c.builds.find((x) => x.configKey === r.configKey)!.config;
      assert.deepEqual({ ...r.config, depAbi: [] }, { ...old, depAbi: [] }, `${c.name}: only depAbi changes`);
      // A := rebuild is held to its depAbi; a soname rebuild to dropping what only the old library provided.
      assert.deepEqual(r.unlink, /^links/.test(r.reason) ? ['libgreet.so.1'] : undefined, `${c.name}: unlink`);
    }
  }
});

test('planAbiRebuilds: links in the attested config count like REQUIRES; once rebuilt (links the new soname) nothing more is planned', () => {
  const tool = b('tool', 'app-misc/tool-1.0', { links: ['libc.so.6', 'libgreet.so.1'] });
  const [r] = planAbiRebuilds(lib2, [lib1, tool]);
  assert.deepEqual(r && { configKey: r.configKey, config: r.config, unlink: r.unlink }, { configKey: 'c-tool', config: tool.config, unlink: ['libgreet.so.1'] });
  const rebuilt = { ...b('tool2', 'app-misc/tool-1.0', { links: ['libc.so.6', 'libgreet.so.2'] }), configKey: 'c-tool' };
  assert.deepEqual(planAbiRebuilds(lib2, [lib1, rebuilt]), []);
});

test('index keys: a build is found by its package, its := slots and its links; a library change looks up only its reverse dependencies', () => {
  assert.deepEqual(refsOfConfig({ ...cfg('app-misc/hello-1.0', ['dev-libs/libgreet:0/1', 'sys-libs/zlib:0/1']), links: ['libc.so.6', 'libgreet.so.1'] }).sort(), [
    'dep:dev-libs/libgreet:0', 'dep:sys-libs/zlib:0', 'pkg:app-misc/hello', 'so:libc.so.6', 'so:libgreet.so.1',
  ]);
  assert.deepEqual(reverseDependencyRefs(lib2, [lib1, lib2]), ['dep:dev-libs/libgreet:0', 'so:libgreet.so.1']);
  assert.deepEqual(reverseDependencyRefs(lib2, [lib2]), ['dep:dev-libs/libgreet:0'], 'first build in the slot: := dependents only');
  assert.deepEqual(reverseDependencyRefs(lib1, [lib2, lib1]), [], 'an older version triggers nothing');
  assert.deepEqual(reverseDependencyRefs(b('x', 'dev-libs/libgreet-3.0', {}), [lib1]), [], 'SLOT unknown');
});
