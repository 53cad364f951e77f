/** `binswarm fetch SHA256` — download one archive through the swarm, resumable. */
import { rename } from 'node:fs/promises';
import { Command } from 'commander';
import { CoordinatorClient } from '../api/client.js';
import { BinswarmError } from '../errors.js';
import { checkHex } from '../transfer/blob-store.js';
import { PartialFile } from '../transfer/partial-file.js';
import { swarmDownload, type SwarmProgress } from '../transfer/swarm.js';
import { trackerHolders } from '../transfer/swarm-fetcher.js';
import { TokenBucket } from '../transfer/token-bucket.js';
import { readPrivateKey } from '../trust/keys.js';
import { parseSize, printJson, type CliCommand } from './common.js';

const MiB = 1024 * 1024;

function bar(p: SwarmProgress): string {
  const frac = p.total ? p.have / p.total : 1;
  const width = 30;
  const filled = Math.round(frac * width);
  const eta = p.rate > 0 ? Math.ceil((p.size - p.bytes) / p.rate) : undefined;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${(p.rate / MiB).toFixed(1)} MiB/s ETA ${eta === undefined ? '?' : `${eta}s`} ${p.holders} holder(s)`;
}

const command: CliCommand = {
  build() {
    return new Command()
      .description('Fetch one archive by sha256 from the swarm: pieces from many holders in parallel, each verified against the attested pieceRoot; resumes after an interruption.')
      .argument('<sha256>', 'archive sha256 (hex)')
      .requiredOption('--coordinator <url>', 'coordinator URL (the tracker)')
      .requiredOption('--out <file>', 'where the archive goes (FILE.part* hold progress until it is complete)')
      .option('--key <file>', 'sign reports of bad holders with this key')
      .option('--download-rate <size>', 'limit per second, e.g. 20M')
      .option('--connections <n>', 'parallel requests per holder', '4')
      .option('--json', 'print the result as JSON')
      .addHelpText('after', '\nProgress: a bar on a terminal; otherwise JSON lines on stderr ({"event":"progress",…}).\n\nExample:\n  binswarm fetch 3f2a… --coordinator http://127.0.0.1:7600 --out hello.gpkg.tar')
      .action(async (hex: string, o: { coordinator: string; out: string; key?: string; downloadRate?: string; connections: string; json?: boolean }) => {
        checkHex(hex);
        const client = new CoordinatorClient(o.coordinator, o.key ? await readPrivateKey(o.key) : undefined);
        const archive = await client.archive(hex);
        if (!archive) throw new BinswarmError('NOT_FOUND', `the coordinator knows no archive ${hex.slice(0, 16)}…`);
        const tty = process.stderr.isTTY === true;
        let last = 0;
        const onProgress = (p: SwarmProgress) => {
          const t = Date.now();
          if (t - last < 200 && p.have < p.total) return;
          last = t;
          if (tty) process.stderr.write(`\r${bar(p)}`);
          else process.stderr.write(`${JSON.stringify({ event: 'progress', ...p })}\n`);
        };
        const part = `${o.out}.part`;
        const r = await swarmDownload(archive, await trackerHolders(client, hex), part, {
          perHolder: Math.max(1, Number(o.connections) || 4),
          bucket: o.downloadRate ? new TokenBucket(parseSize(o.downloadRate, '--download-rate')) : undefined,
          onProgress,
          onBadHolder: (h, reason) => {
            process.stderr.write(tty ? `\nbad holder ${h.url}: ${reason}\n` : `${JSON.stringify({ event: 'bad-holder', url: h.url, peer: h.peer, reason })}\n`);
            if (o.key) void client.reportHolder(hex, h.peer, reason).catch(() => undefined);
          },
          refreshHolders: () => trackerHolders(client, hex),
        });
        await rename(part, o.out);
        await PartialFile.discard(part, true);
        if (tty) process.stderr.write('\n');
        const summary = { sha256: hex, size: archive.size, out: o.out, resumedPieces: r.resumedPieces, fetchedPieces: r.fetchedPieces, fetchedBytes: r.fetchedBytes, servedBy: r.servedBy, badHolders: r.badHolders.map((b) => ({ url: b.holder.url, peer: b.holder.peer, reason: b.reason })) };
        if (o.json) printJson(summary);
        else process.stdout.write(`${o.out}: ${archive.size} bytes verified (${r.fetchedPieces} piece(s) fetched, ${r.resumedPieces} resumed, from ${Object.keys(r.servedBy).length} holder(s))\n`);
      });
  },
};

export default command;
