#!/usr/bin/env node
/**
 * `binswarm` entry point. Commands load lazily so `binswarm inspect` does not
 * pay for fastify or SQLite; each lives in its own file under src/cli/ and
 * default-exports a `CliCommand`.
 */
import { CommanderError } from 'commander';
import { reportError, type CliCommand } from './common.js';
import { configPath, DEFAULT_CONFIG } from './config-path.js';

interface Entry {
  summary: string;
  load: () => Promise<{ default: CliCommand }>;
}

const COMMANDS: Record<string, Entry> = {
  inspect: { summary: 'Read a .gpkg.tar, .tbz2 or PKGDIR; print metadata and digests', load: () => import('./inspect.js') },
  keygen: { summary: 'Make an Ed25519 key pair', load: () => import('./keygen.js') },
  attest: { summary: 'Sign an attestation for a package file', load: () => import('./attest.js') },
  'verify-attestation': { summary: 'Check an attestation envelope', load: () => import('./verify-attestation.js') },
  certify: { summary: 'Certify an operator or builder key', load: () => import('./certify.js') },
  revoke: { summary: 'Revoke a key you certified', load: () => import('./revoke.js') },
  submit: { summary: 'Send prepared certificates, revocations, attestations to a coordinator', load: () => import('./submit.js') },
  trust: { summary: 'Explain which packages a policy trusts, and why', load: () => import('./trust.js') },
  coordinator: { summary: 'Run the coordinator (registry, tracker, log)', load: () => import('./coordinator.js') },
  node: { summary: 'Run a node (blob server, contribute, mirror, gateway)', load: () => import('./node.js') },
  publish: { summary: 'Publish a PKGDIR to the network', load: () => import('./publish.js') },
  fetch: { summary: 'Fetch one archive from the swarm (verified pieces, resumable)', load: () => import('./fetch.js') },
  mirror: { summary: 'Mirror role: status of a running mirror', load: () => import('./mirror.js') },
  gateway: { summary: 'Serve a Portage binhost of what your policy trusts', load: () => import('./gateway.js') },
  status: { summary: "Show this machine's roles, gateway, trust counts, checkpoint, contribution", load: () => import('./status.js') },
  witness: { summary: 'Follow a log and cosign its checkpoints after checking consistency', load: () => import('./witness.js') },
  'setup-portage': { summary: "Point Portage at a gateway (binrepos.conf) and trust the gateway's signing key", load: () => import('./setup-portage.js') },
  log: { summary: 'Transparency log: verify checkpoints and proofs, cosign as a witness', load: () => import('./log.js') },
  census: { summary: 'Count what is installed here as build demand (prints what it would send)', load: () => import('./census.js') },
  request: { summary: 'Ask the coordinator for one build configuration', load: () => import('./request.js') },
  queue: { summary: "Show the coordinator's build queue and why each job is where it is", load: () => import('./queue.js') },
  dispute: { summary: 'Explain a dispute: which image entries and metadata differ', load: () => import('./dispute.js') },
  demo: { summary: 'Bring up a local network and run the demo', load: () => import('./demo.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, e]) => `  ${n.padEnd(width)}  ${e.summary}`);
  return [
    'Usage: binswarm COMMAND [options]',
    '',
    'Share Gentoo binary packages, trusted when independent builders agree.',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `binswarm COMMAND --help` for the options of one command.',
    `Every command reads its [COMMAND] section of ${DEFAULT_CONFIG} (keys: its long flags;`,
    'flags given win). Another file: --config FILE or BINSWARM_CONFIG=FILE.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] !== undefined && COMMANDS[rest[0]]) return main([rest[0], '--help']);
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8').catch(() => readFile(new URL('../../package.json', import.meta.url), 'utf8')));
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`binswarm: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const json = rest.includes('--json');
  try {
    const cmd = (await entry.load()).default;
    const program = cmd.build();
    program.name(`binswarm ${name}`).exitOverride();
    program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
    const config = configPath(rest);
    if (config.path !== undefined) {
      // zod and the TOML parser load only when there is a file to check (config-path.ts).
      const { applyConfig, readConfigFile } = await import('./config.js');
      applyConfig(program, name, config.rest, config.path, readConfigFile(config.path), Object.keys(COMMANDS));
    }
    const result = await program.parseAsync(config.rest, { from: 'user' });
    return cmd.exitCode?.(result) ?? (process.exitCode as number | undefined) ?? 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help / --version exit through here with code 0; usage errors were printed by commander.
      return e.exitCode === 0 ? 0 : 2;
    }
    return reportError(e, { json });
  }
}

// A process started by `binswarm demo` stops when the demo's end of its stdin
// closes (the demo died without stopping it): no orphans after a kill -9.
if (process.env.BINSWARM_EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM')).on('error', () => undefined).resume();
  (process.stdin as unknown as { unref?: () => void }).unref?.();
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.exitCode = reportError(e, { json: false });
  },
);
