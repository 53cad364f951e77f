/** `binswarm log` — check checkpoints and proofs of a transparency log, and cosign as a witness. */
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { BinswarmError } from '../errors.js';
import { cosign, openCheckpoint } from '../log/checkpoint.js';
import type { NamedKey } from '../trust/keys.js';
import { leafHash, verifyInclusion } from '../log/merkle.js';
import { acceptCheckpoint } from '../log/verifier.js';
import { readJsonFile } from '../trust/files.js';
import { readPrivateKey, readPublicKey } from '../trust/keys.js';
import { TileClient } from '../api/tile-client.js';
import { mirrorTiles } from '../log/mirror.js';
import { collect, printJson, type CliCommand } from './common.js';

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    throw new BinswarmError('NOT_FOUND', `cannot read: ${e.code}`, { subject: path });
  });
}

async function readProof(path: string | undefined): Promise<Uint8Array[]> {
  if (!path) return [];
  const v = await readJsonFile(path);
  const list = Array.isArray(v) ? v : (v as { proof?: unknown })?.proof;
  if (!Array.isArray(list) || !list.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) {
    throw new BinswarmError('BAD_PROOF', 'proof must be a JSON array of 64-hex hashes (or {proof: [...]})', { subject: path });
  }
  return list.map((h: string) => Buffer.from(h, 'hex'));
}

async function logKey(name: string, pub: string): Promise<NamedKey> {
  return { name, key: await readPublicKey(pub) };
}

async function witnesses(specs: string[]): Promise<NamedKey[]> {
  return Promise.all(
    specs.map(async (s) => {
      const i = s.indexOf('=');
      if (i <= 0) throw new BinswarmError('BAD_ARGUMENT', `--witness wants NAME=PUBFILE, got '${s}'`);
      return { name: s.slice(0, i), key: await readPublicKey(s.slice(i + 1)) };
    }),
  );
}


const command: CliCommand = {
  build() {
    const log = new Command().description('Transparency log: checkpoints, proofs, witness cosignatures');
    log
      .command('verify')
      .description('Check a signed checkpoint: log signature, witness cosignatures, and consistency with the last one you trusted.')
      .requiredOption('--checkpoint <file>', 'the new signed checkpoint (C2SP signed note)')
      .requiredOption('--log-name <name>', "the log's key name (first word of its signature line)")
      .requiredOption('--log-key <pubfile>', "the log's public key")
      .option('--trusted <file>', 'the checkpoint you trusted before')
      .option('--proof <file>', 'consistency proof from --trusted to --checkpoint (JSON array of hex)')
      .option('--witness <name=pubfile>', 'a witness key (repeatable)', collect, [])
      .option('--witnesses-required <n>', 'how many witnesses must have cosigned', '0')
      .option('--json', 'print JSON')
      .action(async (o: { checkpoint: string; logName: string; logKey: string; trusted?: string; proof?: string; witness: string[]; witnessesRequired: string; json?: boolean }) => {
        const accepted = acceptCheckpoint({
          presented: await readText(o.checkpoint),
          trusted: o.trusted ? await readText(o.trusted) : undefined,
          proof: await readProof(o.proof),
          log: await logKey(o.logName, o.logKey),
          witnessPolicy: { witnesses: await witnesses(o.witness), required: Number(o.witnessesRequired) },
        });
        const c = accepted.checkpoint;
        if (o.json) printJson({ valid: true, origin: c.origin, size: c.size, root: Buffer.from(c.root).toString('hex') });
        else console.log(`valid checkpoint: ${c.origin} size ${c.size} root ${Buffer.from(c.root).toString('hex')}`);
      });
    log
      .command('verify-inclusion')
      .description('Check that a leaf (file bytes) is in the tree of a signed checkpoint.')
      .requiredOption('--leaf <file>', 'the leaf data (e.g. the canonical JSON of a log entry)')
      .requiredOption('--index <n>', 'leaf index')
      .requiredOption('--proof <file>', 'inclusion proof (JSON array of hex)')
      .requiredOption('--checkpoint <file>', 'signed checkpoint')
      .requiredOption('--log-name <name>', "the log's key name")
      .requiredOption('--log-key <pubfile>', "the log's public key")
      .action(async (o: { leaf: string; index: string; proof: string; checkpoint: string; logName: string; logKey: string }) => {
        const note = openCheckpoint(await readText(o.checkpoint), await logKey(o.logName, o.logKey));
        verifyInclusion(Number(o.index), note.checkpoint.size, leafHash(await readFile(o.leaf)), await readProof(o.proof), note.checkpoint.root);
        console.log(`leaf ${o.index} is in ${note.checkpoint.origin} at size ${note.checkpoint.size}`);
      });
    log
      .command('cosign')
      .description('As a witness: verify a checkpoint (and its consistency with your last one), then print your cosignature line.')
      .requiredOption('--key <file>', 'your witness private key')
      .requiredOption('--name <name>', 'your witness name')
      .requiredOption('--checkpoint <file>', 'the checkpoint to cosign')
      .requiredOption('--log-name <name>', "the log's key name")
      .requiredOption('--log-key <pubfile>', "the log's public key")
      .option('--trusted <file>', 'the last checkpoint you cosigned')
      .option('--proof <file>', 'consistency proof from --trusted')
      .action(async (o: { key: string; name: string; checkpoint: string; logName: string; logKey: string; trusted?: string; proof?: string }) => {
        const text = await readText(o.checkpoint);
        acceptCheckpoint({ presented: text, trusted: o.trusted ? await readText(o.trusted) : undefined, proof: await readProof(o.proof), log: await logKey(o.logName, o.logKey) });
        process.stdout.write(cosign(text, o.name, await readPrivateKey(o.key), Math.floor(Date.now() / 1000)));
      });
    log
      .command('export-tiles')
      .description('Copy a tiled log (checkpoint, hash tiles, entry bundles) into a directory any static HTTP server can serve as <url>/; only new tiles are fetched, and the entries are checked against the checkpoint before it is written.')
      .requiredOption('--log <url>', "the log's tile URL, e.g. http://coordinator:7600/log")
      .requiredOption('--out <dir>', 'target directory (serve it as the log URL)')
      .option('--json', 'print JSON')
      .action(async (o: { log: string; out: string; json?: boolean }) => {
        const client = new TileClient(o.log);
        const tty = process.stderr.isTTY;
        const r = await mirrorTiles({ checkpoint: () => client.checkpoint(), tile: (t) => client.tile(t) }, o.out, (done, total) => {
          if (tty && (done % 64 === 0 || done === total)) process.stderr.write(`\rtiles ${done}/${total}`);
        });
        if (tty) process.stderr.write('\n');
        if (o.json) printJson({ size: r.size, fetched: r.fetched, out: o.out });
        else console.log(`exported log of size ${r.size} to ${o.out} (${r.fetched} tile(s) fetched)`);
      });
    return log;
  },
};

export default command;
