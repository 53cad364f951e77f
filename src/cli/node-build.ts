/** The build role of `binswarm node` (`--roles build`): its options, checks, and the builder it runs. */
import type { Command } from 'commander';
import { join } from 'node:path';
import type { CoordinatorClient } from '../api/client.js';
import type { BuildBackend } from '../builder/backend.js';
import { BACKENDS, createBackend } from '../builder/backends.js';
import { runBuilder, type BuilderEvent } from '../builder/job-loop.js';
import { TAMPER_ENV, tamperRequested } from '../builder/tamper.js';
import { BinswarmError } from '../errors.js';
import type { BlobStore } from '../transfer/blob-store.js';
import type { Envelope } from '../trust/dsse.js';
import type { PrivateKey } from '../trust/keys.js';

export interface BuildFlags {
  backend: string;
  jobs: string;
  buildDir?: string;
  heartbeat?: string;
  poll: string;
  portageCommand: string;
  portagePrefix: string;
  portageTree?: string;
  exampleRepo?: string;
  json?: boolean;
  chost: string;
}

export function addBuildOptions(cmd: Command): Command {
  return cmd
    .option('--backend <name>', `build backend (role build): ${BACKENDS.join(' | ')}`, 'example')
    .option('--jobs <n>', 'jobs built at the same time (role build)', '1')
    .option('--build-dir <dir>', 'where jobs are built (role build; default DATA/build)')
    .option('--heartbeat <seconds>', 'lease heartbeat interval (default: what the coordinator asks for)')
    .option('--poll <seconds>', 'wait between lease attempts when there is no job', '5')
    .option('--portage-command <cmd>', 'backend portage: the build command (called like ../shared/tools/portage/build_pkgs.py)', 'binswarm-portage-build')
    .option('--portage-prefix <dir>', 'backend portage: fixed build prefix, the same on every builder that should agree', '/var/tmp/binswarm/portage-prefix')
    .option('--portage-tree <dir>', 'backend portage: ebuild repository whose ebuild digests jobs must match')
    .option('--example-repo <dir>', 'backend example: another repository instead of the bundled one')
    .option('--json', 'builder progress as JSON lines on stdout (after the ready line)');
}

/** Checks the build flags and makes the backend — before the node listens or registers, so bad flags are usage errors. */
export function backendFor(o: BuildFlags, roles: string[]): BuildBackend | undefined {
  if (!roles.includes('build')) return undefined;
  for (const [v, name] of [[o.jobs, '--jobs'], [o.heartbeat, '--heartbeat'], [o.poll, '--poll']] as const) {
    if (v !== undefined && !(Number(v) > 0)) throw new BinswarmError('BAD_ARGUMENT', `${name} wants a positive number, got '${v}'`);
  }
  if (tamperRequested()) process.stderr.write(`node: WARNING: ${TAMPER_ENV} is set: this builder corrupts every build on purpose (test only)\n`);
  return createBackend(o.backend, { chost: o.chost, portageCommand: o.portageCommand, portagePrefix: o.portagePrefix, portageTree: o.portageTree, exampleRepo: o.exampleRepo });
}

function printer(json: boolean): (e: BuilderEvent) => void {
  return (e) => {
    if (json) return void process.stdout.write(`${JSON.stringify(e)}\n`);
    // Build output: only the phase markers (`>>> …`) as progress; all of it with --json.
    if (e.event === 'log') return void (e.line.startsWith('>>> ') && process.stderr.write(`build: job ${e.job}: ${e.line.slice(4)}\n`));
    const what = 'cpv' in e ? `${e.cpv} (job ${'job' in e ? e.job : '?'})` : '';
    const detail = e.event === 'built' ? `${e.kind} ${e.outputDigest.slice(0, 12)}… in ${e.seconds.toFixed(1)}s${e.dispute ? ' — DISPUTED' : ''}` : e.event === 'leased' ? `${e.kind} USE="${e.use.join(' ')}"` : 'reason' in e ? e.reason : 'message' in e ? e.message : '';
    process.stderr.write(`build: ${e.event} ${what} ${detail}\n`);
  };
}

/** Starts leasing and building; resolves to a function that stops (a running build is cancelled, its lease left to expire). */
export async function startBuilder(
  backend: BuildBackend,
  o: BuildFlags,
  node: { client: CoordinatorClient; key: PrivateKey; store: BlobStore; publicUrl: string; certificates: Envelope[]; data: string },
): Promise<() => Promise<void>> {
  // The coordinator learns our operator from the certificate chain.
  for (const c of node.certificates) await node.client.submitCertificate(c);
  const stop = new AbortController();
  const building = runBuilder(
    {
      client: node.client,
      key: node.key,
      backend,
      sink: { publicUrl: node.publicUrl, store: async (path, exp) => void (await node.store.importFile(path, { expectedSha256: exp.sha256, expectedSize: exp.size })) },
      buildDir: o.buildDir ?? join(node.data, 'build'),
      ...(o.heartbeat ? { heartbeatMs: Number(o.heartbeat) * 1000 } : {}),
      pollMs: Number(o.poll) * 1000,
      onEvent: printer(Boolean(o.json)),
    },
    stop.signal,
    Math.max(1, Number(o.jobs) || 1),
  );
  return async () => {
    stop.abort(new Error('the node is stopping'));
    await building;
  };
}
