/** The USE rule a gateway filters by: IUSE defaults, then make.conf USE, then package.use in order. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { localUseOf, readPortageConfig, useMatches, wantedUse } from '../../src/gateway/local-config.js';
import { tempDir } from '../helpers/env.js';

const HELLO = ['+nls', 'debug'];

test('wanted flags: IUSE defaults, make.conf USE, package.use (last word wins), -* clears', () => {
  const cases: [string | undefined, string[], string[]][] = [
    [undefined, [], ['nls']],
    ['debug', [], ['debug', 'nls']],
    ['-nls', [], []],
    ['-*', [], []],
    ['-* debug', [], ['debug']],
    ['nls', ['app-misc/hello debug -nls'], ['debug']],
    ['nls', ['app-misc/hello debug', 'app-misc/hello -debug'], ['nls']],
    ['nls', ['>=app-misc/hello-2 debug'], ['nls']],
    ['nls', ['=app-misc/hello-1.0 debug'], ['debug', 'nls']],
    ['nls', ['app-misc/other debug'], ['nls']],
    ['unrelated', [], ['nls']],
  ];
  for (const [use, pkgUse, want] of cases) assert.deepEqual([...wantedUse('app-misc/hello-1.0', '0', HELLO, localUseOf(use, pkgUse))].sort(), want, `${use} ${pkgUse.join(';')}`);
});

test('a build matches when its enabled IUSE flags are exactly the wanted ones; without local config everything matches', () => {
  const cfg = localUseOf('nls', []);
  assert.equal(useMatches('app-misc/hello-1.0', '0', HELLO, ['amd64', 'nls', 'elibc_glibc'], cfg), true);
  assert.equal(useMatches('app-misc/hello-1.0', '0', HELLO, ['amd64', 'debug'], cfg), false);
  assert.equal(useMatches('app-misc/hello-1.0', '0', HELLO, ['amd64', 'debug', 'nls'], cfg), false);
  assert.equal(useMatches('app-misc/hello-1.0', '0', HELLO, ['debug'], undefined), true);
  assert.throws(() => localUseOf('', ['not an atom!! x']), { code: 'BAD_LOCAL_CONFIG' });
});

test('reads USE from make.conf and package.use (file or directory), as /etc/portage lays them out', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'make.conf'), 'CFLAGS="-O2"\nUSE="-nls"\n# USE="debug"\n');
  mkdirSync(join(dir, 'package.use'));
  writeFileSync(join(dir, 'package.use', 'b'), 'app-misc/hello -debug\n');
  writeFileSync(join(dir, 'package.use', 'a'), '# mine\napp-misc/hello debug nls\n');
  assert.deepEqual([...wantedUse('app-misc/hello-1.0', '0', HELLO, readPortageConfig(dir))], ['nls']);
});
