/** INSTALL_MASK matching as Portage's InstallMask.match, and the variant presets (table tests). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { installMaskMatch, installMaskOfVariant, VARIANTS, variantOfInstallMask } from '../../src/formats/install-mask.js';

test('installMaskMatch: anchored paths and their subtrees, basename globs, -exclusions (last match wins)', () => {
  const cases: [mask: string, path: string, want: boolean][] = [
    ['/usr/share/doc', 'usr/share/doc', true],
    ['/usr/share/doc', 'usr/share/doc/', true],
    ['/usr/share/doc', 'usr/share/doc/hello-1.0/README', true],
    ['/usr/share/doc', 'usr/share/docs/x', false],
    ['/usr/share/doc', 'usr/share/hello/doc', false],
    ['/usr/share/doc/', 'usr/share/doc/x', true],
    ['/usr/lib*/*.a', 'usr/lib64/libdemo.a', true],
    ['*.a', 'usr/lib64/libdemo.a', true],
    ['*.a', 'usr/lib64/libdemo.so.1', false],
    ['*.a', 'usr/lib64/a.dir/libdemo.so', false],
    ['/usr/include', 'usr/include/demo.h', true],
    ['/usr/share/doc -/usr/share/doc/keep', 'usr/share/doc/keep/x', false],
    ['/usr/share/doc -/usr/share/doc/keep', 'usr/share/doc/other', true],
    ['-/usr/share/doc/keep /usr/share/doc', 'usr/share/doc/keep/x', true],
    ['/usr/share/[dm]an', 'usr/share/man/man1/x.1', true],
    ['', 'usr/bin/x', false],
  ];
  for (const [mask, path, want] of cases) assert.equal(installMaskMatch(mask, path), want, `${JSON.stringify(mask)} ~ ${path}`);
});

test('variant presets: exact INSTALL_MASK values, names both ways, unknown refused', () => {
  assert.equal(installMaskOfVariant('slim'), '/usr/share/doc /usr/share/gtk-doc /usr/share/man /usr/share/info /usr/include *.a *.la');
  assert.equal(installMaskOfVariant('nodoc'), '/usr/share/doc /usr/share/gtk-doc');
  assert.equal(installMaskOfVariant('full'), '');
  assert.equal(installMaskOfVariant(''), '');
  for (const [name, mask] of Object.entries(VARIANTS)) assert.equal(variantOfInstallMask(mask), name);
  assert.equal(variantOfInstallMask(''), 'full');
  assert.equal(variantOfInstallMask('/opt'), 'custom');
  assert.throws(() => installMaskOfVariant('tiny'), (e: { code?: string }) => e.code === 'BAD_VARIANT');
  const slim = installMaskOfVariant('slim');
  for (const p of ['usr/share/man/man1/hello.1.bz2', 'usr/share/info/greet.info', 'usr/include/demo.h', 'usr/lib64/libdemo.a', 'usr/lib64/libdemo.la', 'usr/share/doc/greet-doc-1.0/README']) assert.ok(installMaskMatch(slim, p), p);
  for (const p of ['usr/bin/hello', 'usr/lib64/libdemo.so.1', 'usr/share/hello-demo/greetings.txt']) assert.ok(!installMaskMatch(slim, p), p);
});
