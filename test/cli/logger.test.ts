/** Daemon logs: JSON lines off a terminal, human lines on one. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { daemonLogger } from '../../src/cli/logger.js';

function sink(isTTY: boolean): Writable & { isTTY: boolean; text: () => string } {
  let text = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  }) as Writable & { isTTY: boolean; text: () => string };
  w.isTTY = isTTY;
  w.text = () => text;
  return w;
}

test('not a terminal: one JSON record per line, with component, level and fields', () => {
  const out = sink(false);
  daemonLogger('gateway', out, {}).warn({ err: 'ECONNREFUSED' }, 'refresh failed');
  const lines = out.text().trim().split('\n');
  assert.equal(lines.length, 1);
  const r = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual([r.component, r.level, r.msg, r.err], ['gateway', 40, 'refresh failed', 'ECONNREFUSED']);
  assert.equal(typeof r.time, 'number');
});

test('a terminal: short human lines; BINSWARM_LOG_FORMAT and BINSWARM_LOG_LEVEL override', () => {
  const tty = sink(true);
  const log = daemonLogger('node', tty, {});
  log.info({ packages: 3 }, 'contributed 3 package(s)');
  log.debug('not shown at info');
  assert.match(tty.text(), /^\d\d:\d\d:\d\d node info contributed 3 package\(s\) packages=3\n$/);
  const forced = sink(true);
  daemonLogger('node', forced, { BINSWARM_LOG_FORMAT: 'json', BINSWARM_LOG_LEVEL: 'debug' }).debug('shown');
  assert.equal((JSON.parse(forced.text()) as { msg: string }).msg, 'shown');
});
