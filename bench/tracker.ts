/**
 * The tracker's hot path: every download asks which peers hold an archive.
 * Its cost must follow the archive's holders, not the size of the network:
 * measured with 1 000 and 100 000 registered peers (10⁵ is the design's
 * scale), against one read of every peer — what the lookup did before.
 * Also placement (which mirrors keep which archive): it reads the mirror
 * peers and the peers that are down, by index, so with 10 mirrors and 20
 * archives its cost should not follow the 10⁵ other peers either (before,
 * it read every peer on each computation).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computePlacement, DEFAULT_TRACKER, liveHolders } from '../src/coordinator/mirrors.js';
import { openStore } from '../src/coordinator/store/sql-store.js';
import type { BenchResult } from './run.js';

const SHA = 'ab'.repeat(32);
const HOLDERS = 5;

async function perCall(fn: () => Promise<unknown>, rounds: number): Promise<number> {
  for (let i = 0; i < Math.min(rounds, 20); i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / 1e3 / rounds;
}

const MIRRORS = 10;
const ARCHIVES = 20;

async function measure(peers: number): Promise<{ lookup: number; scan: number; placement: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'binswarm-bench-tracker-'));
  const store = await openStore(join(dir, 'c.db'));
  try {
    const now = Date.now();
    for (let i = 0; i < peers; i++) {
      const keyId = i.toString(16).padStart(64, '0');
      await store.upsertPeer({ keyId, publicKey: 'x', roles: ['contribute'], url: `http://127.0.0.1:${1000 + (i % 60000)}`, capacity: 0, failureDomain: null, firstSeen: now, lastSeen: now });
      if (i % Math.floor(peers / HOLDERS) === 0) await store.addHolder({ archiveSha256: SHA, peer: keyId, url: `http://127.0.0.1:${1000 + (i % 60000)}`, announcedAt: now });
    }
    for (let m = 0; m < MIRRORS; m++) {
      await store.upsertPeer({ keyId: `f${m}`.padStart(64, 'e'), publicKey: 'x', roles: ['mirror'], url: `http://127.0.0.2:${2000 + m}`, capacity: 1 << 30, failureDomain: `site-${m % 3}`, firstSeen: now, lastSeen: now });
    }
    for (let a = 0; a < ARCHIVES; a++) {
      const sha = a.toString(16).padStart(64, 'c');
      await store.transaction(async (tx) => {
        await tx.insertAttestations([{ id: sha, signer: 's', kind: 'build', cpv: `app-misc/p${a}-1.0`, chost: 'x86_64-pc-linux-gnu', buildKey: sha, configKey: sha, outputDigest: sha, archiveSha256: sha, archiveSize: 1000, pieceRoot: sha, time: a, logIndex: a, logTime: a, envelope: '{}' }]);
        await tx.insertArchives([{ sha256: sha, size: 1000, pieceRoot: sha, outputDigest: sha }]);
      });
    }
    const lookup = await perCall(() => liveHolders(store, SHA, DEFAULT_TRACKER), 2000);
    const scan = await perCall(() => store.listPeers(), peers >= 100_000 ? 5 : 200);
    const placement = await perCall(() => computePlacement(store, now, DEFAULT_TRACKER), 200);
    return { lookup, scan, placement };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export default async function trackerBench(): Promise<BenchResult> {
  const small = await measure(1_000);
  const large = await measure(100_000);
  return {
    name: 'tracker',
    lines: [
      `holder lookup (${HOLDERS} holders): ${small.lookup.toFixed(0)} µs with 1 000 peers, ${large.lookup.toFixed(0)} µs with 100 000 peers`,
      `one read of every peer: ${small.scan.toFixed(0)} µs with 1 000 peers, ${large.scan.toFixed(0)} µs with 100 000 peers`,
      `placement (${MIRRORS} mirrors, ${ARCHIVES} archives): ${small.placement.toFixed(0)} µs with 1 000 peers, ${large.placement.toFixed(0)} µs with 100 000 peers`,
    ],
    ratios: {
      'holder lookup at 100k peers vs at 1k peers (1 = does not grow)': small.lookup / large.lookup,
      'holder lookup vs one read of every peer, 100k peers': large.scan / large.lookup,
      'placement at 100k peers vs at 1k peers (1 = does not grow)': small.placement / large.placement,
    },
  };
}
