/**
 * `binswarm demo` (what `npm start` runs): a whole local network on
 * loopback, each role a real `binswarm` process — a coordinator (SQLite),
 * three builder operators (example backend), two mirrors in two failure
 * domains, a witness cosigning the log's checkpoints and a consumer's
 * gateway. It asks for the example packages with different USE flags,
 * lets the builders build and cross-verify them, and
 * shows what happens until Ctrl-C, which stops every process and keeps the
 * data for the next start (`--reset` starts over).
 */
import { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CoordinatorClient } from '../api/client.js';
import type { JobSpec } from '../api/v1.js';
import { exampleRepoDir, readEbuild } from '../builder/example-repo.js';
import { Children } from '../demo/processes.js';
import { readSummary, renderSummary, type DemoRequest, type DemoSummary } from '../demo/summary.js';
import { demoWorld, type DemoWorld } from '../demo/world.js';
import { BinswarmError } from '../errors.js';
import { readPrivateKey } from '../trust/keys.js';
import { loadPolicy } from '../trust/policy.js';
import type { CliCommand } from './common.js';
import { binreposEntry } from './setup-portage.js';

const CHOST = 'x86_64-pc-linux-gnu';
/** What the demo consumer asks for: both example packages, each with two USE configurations. */
const WANTED: { cpv: string; use: string[] }[] = [
  { cpv: 'dev-libs/libdemo-1.0', use: ['static-libs'] },
  { cpv: 'dev-libs/libdemo-1.0', use: [] },
  { cpv: 'app-misc/hello-demo-1.0', use: ['nls'] },
  { cpv: 'app-misc/hello-demo-1.0', use: ['debug', 'nls'] },
];

/** One JSON object per line (the ready line first), for scripts and tests. */
const jsonLine = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);

interface DemoOptions {
  dir: string;
  reset?: boolean;
  coordinatorListen: string;
  gatewayListen: string;
  sign: boolean;
  once?: boolean;
  timeout: string;
  json?: boolean;
}

/** A complete spec (ebuild digest, eclasses, EAPI from the bundled repository), so its configKey is known up front. */
async function exampleSpecs(): Promise<JobSpec[]> {
  const out: JobSpec[] = [];
  for (const w of WANTED) {
    const eb = await readEbuild(exampleRepoDir(), w.cpv);
    if (!eb) throw new BinswarmError('DEMO_REPO', `the bundled example repository has no ${w.cpv}`);
    out.push({ cpv: w.cpv, repo: 'binswarm-example', chost: CHOST, arch: 'amd64', use: w.use, cflags: '-O2 -pipe', cxxflags: '-O2 -pipe', ldflags: '-Wl,-O1', features: [], installMask: '', ebuild: eb.sha256, eclasses: eb.inherited, eapi: eb.eapi });
  }
  return out;
}

async function startNetwork(children: Children, dir: string, world: DemoWorld, o: DemoOptions): Promise<{ coordinator: string; gateway: string }> {
  const coord = await children.start<{ listening: string }>('coordinator', [
    'coordinator', '--data', join(dir, 'coordinator'), '--roots', world.rootPub, '--listen', o.coordinatorListen,
    '--verify-target', String(world.operators.length), '--heartbeat', '5', '--probe-interval', '10', '--mirror-ttl', '60',
    // The dashboard's charts: a sample every 2 s shows the demo unfold.
    '--sample-interval', '2',
  ]);
  const C = coord.ready.listening;
  await Promise.all(world.operators.map((op) => children.start(`builder-${op.name}`, [
    'node', '--roles', 'build', '--backend', 'example', '--coordinator', C, '--data', join(dir, `builder-${op.name}`), '--key', op.key,
    ...op.certs.flatMap((c) => ['--cert', c]), '--listen', '127.0.0.1:0', '--poll', '1', '--json', '--report-interval', '5',
  ])));
  await Promise.all(world.mirrors.map((m) => children.start(m.name, [
    'node', '--roles', 'mirror', '--coordinator', C, '--data', join(dir, m.name), '--key', m.key, '--quota', '1G', '--domain', m.domain,
    '--sync-interval', '5', '--listen', '127.0.0.1:0', '--report-interval', '5',
  ])));
  // The builders' certificates are in the log by now, so the witness's first round has a checkpoint to cosign.
  await children.start('witness', ['witness', '--coordinator', C, '--data', join(dir, 'witness'), '--key', world.witness, '--name', 'demo-witness', '--interval', '5']);
  const gw = await children.start<{ listening: string }>('gateway', [
    'gateway', '--coordinator', C, '--data', join(dir, 'gateway'), '--policy', world.policy, '--listen', o.gatewayListen, '--interval', '5', '--key', world.consumer,
    ...(o.sign ? [] : ['--no-sign']),
  ], 120_000);
  return { coordinator: C, gateway: gw.ready.listening };
}

async function runDemo(o: DemoOptions): Promise<number> {
  const dir = resolve(o.dir);
  const tty = process.stdout.isTTY === true && !o.json;
  const say = (s: string) => !o.json && process.stdout.write(`${s}\n`);
  if (o.reset) rmSync(dir, { recursive: true, force: true });
  const resumed = existsSync(join(dir, 'coordinator'));
  mkdirSync(join(dir, 'logs'), { recursive: true });
  // The children read this (empty) config file, not the machine's /etc/binswarm/binswarm.toml.
  writeFileSync(join(dir, 'demo.toml'), '# binswarm demo: every setting is on the command line of each process (see logs/).\n');
  const sign = o.sign && spawnSync('gpg', ['--version']).status === 0;
  const world = await demoWorld(dir);
  const threshold = loadPolicy(world.policy).threshold;
  const children = new Children(join(dir, 'logs'), { BINSWARM_CONFIG: join(dir, 'demo.toml') });

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= children.stopAll());
  const interrupted = new Promise<'signal'>((r) => {
    const on = () => r('signal');
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
  try {
    say(`${resumed ? 'Restarting the demo network kept' : 'Bringing up a demo network'} in ${dir} (--reset starts over)…`);
    const { coordinator, gateway } = await Promise.race([startNetwork(children, dir, world, { ...o, sign }), interrupted.then(() => { throw new BinswarmError('DEMO_STOPPED', 'interrupted while starting'); })]);
    const client = new CoordinatorClient(coordinator, await readPrivateKey(world.consumer));
    const requests: DemoRequest[] = [];
    for (const spec of await exampleSpecs()) requests.push({ spec, configKey: (await client.submitRequest(spec)).configKey ?? null });
    const operatorOf = new Map(world.operators.map((op) => [op.keyId, op.name]));
    const nodes = children.urls().filter((n) => n.name.startsWith('builder-') || n.name.startsWith('mirror-'));
    const ready = { coordinator, dashboard: `${coordinator}/`, gateway, dir, pids: children.pids(), threshold, signed: sign };
    if (o.json) jsonLine({ event: 'ready', ...ready });
    const intro = [
      `Coordinator ${coordinator}  (dashboard: ${coordinator}/, API: ${coordinator}/v1/openapi.json)`,
      `Builders: ${world.operators.map((p) => p.name).join(', ')} (example backend); mirrors: ${world.mirrors.map((m) => `${m.name} (${m.domain})`).join(', ')}; witness: demo-witness`,
      `Gateway ${gateway}: lists what the policy ${world.policy} trusts (threshold ${threshold}).`,
      '',
      'Point Portage at it (as root):',
      `  binswarm setup-portage --gateway ${gateway} --gateway-data ${join(dir, 'gateway')}${sign ? '' : ' --no-sign'}`,
      'which writes /etc/portage/binrepos.conf/binswarm.conf:',
      ...binreposEntry(gateway, 10, sign).trimEnd().split('\n').map((l) => `  ${l}`),
      `Then: emerge --getbinpkgonly app-misc/hello-demo (after adding the example repository ${exampleRepoDir()})`,
      `Logs of every process: ${join(dir, 'logs')}/. Ctrl-C stops the network; the data stays for the next start.`,
      '',
    ];
    for (const l of intro) say(l);

    const deadline = Date.now() + Number(o.timeout) * 1000;
    let last = '';
    let announced = false;
    for (;;) {
      const s: DemoSummary | undefined = await readSummary(client, gateway, requests, operatorOf, nodes).catch(() => undefined);
      const dead = children.dead();
      if (dead.length) throw new BinswarmError('DEMO_CHILD', `${dead.map((d) => `${d.name} exited (${d.status})`).join(', ')}; see ${join(dir, 'logs')}/`);
      if (s) {
        const text = renderSummary(s, typeof threshold === 'number' ? threshold : 0);
        if (o.json && JSON.stringify(s) !== last) jsonLine({ event: 'summary', ...s });
        else if (tty) process.stdout.write(`\x1b[J${text}\n\x1b[${text.split('\n').length}A`);
        else if (!o.json && text !== last) say(`${text}\n`);
        last = o.json ? JSON.stringify(s) : text;
        if (s.allTrusted && !announced) {
          announced = true;
          if (tty) process.stdout.write(`${text}\n\nEvery example package is trusted and listed by the gateway. Ctrl-C stops the network.\n`);
          if (o.once) return 0;
        }
      }
      if (o.once && Date.now() > deadline) {
        process.stderr.write(`binswarm demo: not every example package was trusted and listed after ${o.timeout} s; see ${join(dir, 'logs')}/\n`);
        return 1;
      }
      if ((await Promise.race([interrupted, new Promise((r) => setTimeout(r, 1000))])) === 'signal') break;
    }
    if (tty && announced === false) process.stdout.write(`${last}\n`);
    return 0;
  } finally {
    if (!o.json) process.stdout.write('\nStopping the demo network…\n');
    await stop();
    if (o.json) jsonLine({ event: 'stopped', dir });
    else process.stdout.write(`Stopped. Data kept in ${dir}: \`npm start\` resumes it, \`binswarm demo --reset\` starts over.\n`);
  }
}

let code = 0;
const command: CliCommand = {
  build() {
    return new Command()
      .description('Bring up a local network on loopback — a coordinator, three builder operators (example backend), two mirrors, a witness and a gateway — ask for the example packages, and show them being built, cross-verified, trusted and served. Ctrl-C stops it; the data stays for the next start.')
      .option('--dir <dir>', 'where the demo keeps its state and logs', '.demo')
      .option('--reset', 'throw the kept state away and start over')
      .option('--coordinator-listen <host:port>', 'coordinator (and dashboard) address', '127.0.0.1:7600')
      .option('--gateway-listen <host:port>', 'gateway (binhost) address', '127.0.0.1:7680')
      .option('--no-sign', 'the gateway serves unsigned (default: signed for Portage when gpg is installed)')
      .option('--once', 'exit 0 as soon as every example package is trusted and listed (1 after --timeout)')
      .option('--timeout <seconds>', 'with --once: give up after this long', '600')
      .option('--json', 'JSON lines: a ready line with the URLs, then a summary whenever it changes')
      .addHelpText('after', '\nExample:\n  npm start                      # = binswarm demo\n  binswarm demo --reset --once   # from scratch, exit when everything is trusted')
      .action(async (o: DemoOptions) => {
        code = await runDemo(o);
      });
  },
  exitCode: () => code,
};

export default command;
