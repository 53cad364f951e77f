/** The dashboard's flags refuse bad values with one line naming the flag (exit 2), before anything starts. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateKey, privateKeyToPem } from '../../src/trust/keys.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';

test('coordinator --sample-interval / --samples-kept and node --report-interval: bad values are one line, exit 2', async (t) => {
  const dir = await tempDir(t);
  const key = join(dir, 'k.key');
  writeFileSync(key, privateKeyToPem(generateKey()), { mode: 0o600 });
  const cases: [string[], RegExp][] = [
    [['coordinator', '--data', join(dir, 'c'), '--listen', '127.0.0.1:0', '--sample-interval', '-1'], /--sample-interval must be a positive number, not '-1'/],
    [['coordinator', '--data', join(dir, 'c'), '--listen', '127.0.0.1:0', '--samples-kept', '2.5'], /--samples-kept must be a positive integer, not '2.5'/],
    [['node', '--coordinator', 'http://127.0.0.1:9', '--data', join(dir, 'n'), '--key', key, '--listen', '127.0.0.1:0', '--report-interval', 'soon'], /--report-interval wants a positive number of seconds, got 'soon'/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args, { timeoutMs: 30_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, message);
  }
});
