/**
 * The mirror role: offer QUOTA bytes in failure domain DOMAIN, keep the
 * archives the coordinator places here, fetched through the swarm. Each
 * sync re-registers (the heartbeat that keeps the mirror live), reads the
 * assignments, removes unassigned blobs when near quota (and says so to
 * the tracker), then fetches what is missing, one archive at a time.
 */
import type { CoordinatorClient } from '../api/client.js';
import type { Assignment } from '../api/v1.js';
import type { BlobStore } from '../transfer/blob-store.js';
import { trackerHolders, type SwarmFetcher } from '../transfer/swarm-fetcher.js';

export interface MirrorStatus {
  quota: number;
  domain: string | null;
  assigned: number;
  held: number;
  missing: number;
  usedBytes: number;
  assignedBytes: number;
  fetching: string | null;
  lastSync: number | null;
  lastError: string | null;
}

export interface MirrorOptions {
  client: CoordinatorClient;
  keyId: string;
  store: BlobStore;
  fetcher: SwarmFetcher;
  publicUrl: string;
  roles: string[];
  quota: number;
  domain: string | null;
  /** Bytes this node has served so far (reported with each re-registration, for the dashboard). */
  served?: () => number;
  /** Remove unassigned blobs once held bytes pass this share of the quota. */
  gcAt?: number;
  now?: () => number;
  log?: (line: string) => void;
}

export class Mirror {
  readonly status: MirrorStatus;
  private stopped = false;

  constructor(private readonly o: MirrorOptions) {
    this.status = { quota: o.quota, domain: o.domain, assigned: 0, held: 0, missing: 0, usedBytes: 0, assignedBytes: 0, fetching: null, lastSync: null, lastError: null };
  }

  async register(): Promise<void> {
    await this.o.client.registerPeer({ roles: this.o.roles, url: this.o.publicUrl, capacity: this.o.quota, ...(this.o.domain ? { failureDomain: this.o.domain } : {}), ...(this.o.served ? { served: this.o.served() } : {}) });
  }

  private async held(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for await (const b of this.o.store.list()) out.set(b.sha256, b.size);
    return out;
  }

  /** One pass: heartbeat, assignments, GC, fetch what is missing. */
  async sync(): Promise<MirrorStatus> {
    const st = this.status;
    try {
      await this.register();
      const assigned = (await this.o.client.assignments(this.o.keyId)).assignments;
      const want = new Map(assigned.map((a) => [a.sha256, a]));
      let held = await this.held();
      const missing = assigned.filter((a) => !held.has(a.sha256));
      const used = [...held.values()].reduce((s, n) => s + n, 0);
      const needed = missing.reduce((s, a) => s + a.size, 0);
      if (used + needed > (this.o.gcAt ?? 0.9) * this.o.quota) {
        for (const [sha, size] of held) {
          if (want.has(sha)) continue;
          await this.o.client.announceHolder(sha, this.o.publicUrl, { gone: true }).catch(() => undefined);
          await this.o.store.remove(sha);
          this.o.log?.(`gc: removed ${sha.slice(0, 16)}… (${size} bytes, no longer assigned)`);
        }
        held = await this.held();
      }
      this.update(assigned, held);
      for (const a of missing) {
        if (this.stopped) break;
        await this.fetchOne(a);
        this.update(assigned, await this.held());
      }
      st.lastSync = (this.o.now ?? Date.now)();
      st.lastError = null;
    } catch (e) {
      st.lastError = (e as Error).message;
      this.o.log?.(`sync failed: ${st.lastError}`);
    }
    return st;
  }

  private update(assigned: Assignment[], held: Map<string, number>): void {
    const st = this.status;
    st.assigned = assigned.length;
    st.held = held.size;
    st.missing = assigned.filter((a) => !held.has(a.sha256)).length;
    st.usedBytes = [...held.values()].reduce((s, n) => s + n, 0);
    st.assignedBytes = assigned.reduce((s, a) => s + a.size, 0);
  }

  private async fetchOne(a: Assignment): Promise<void> {
    this.status.fetching = a.sha256;
    try {
      const holders = await trackerHolders(this.o.client, a.sha256);
      await this.o.fetcher.fetch(a.sha256, a.size, holders, { pieceRoot: a.pieceRoot });
      this.o.log?.(`fetched ${a.sha256.slice(0, 16)}… (${a.size} bytes)`);
    } catch (e) {
      this.o.log?.(`fetch ${a.sha256.slice(0, 16)}… failed: ${(e as Error).message}`);
    } finally {
      this.status.fetching = null;
    }
  }

  /** Syncs every `intervalMs` until stop(); passes never overlap. */
  run(intervalMs: number): () => void {
    let timer: NodeJS.Timeout | undefined;
    const loop = async () => {
      await this.sync();
      if (!this.stopped) timer = setTimeout(() => void loop(), intervalMs);
    };
    void loop();
    return () => {
      this.stopped = true;
      clearTimeout(timer);
    };
  }
}
