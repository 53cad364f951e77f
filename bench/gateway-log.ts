/**
 * The synthetic logs of the `gateway` bench, generated once into a cache
 * directory under os.tmpdir() (keyed by a format version and N) and reused
 * across runs: signing 10⁶ statements takes a minute or two on 2 cores.
 *
 * big/:   OPS operator + OPS builder certificates, then attestations (two
 *         operators per build, half of them for our CHOST) up to N leaves;
 *         checkpoint.base at N, then NEW attestations of new packages,
 *         checkpoint.new at N + NEW.
 * small/: the same certificates, checkpoint.base; the same NEW attestations,
 *         checkpoint.new — "the same 1,000 on an empty log".
 * Only entry bundles are written (a gateway needs nothing else); every
 * statement is really signed, every buildKey real, so trust evaluation and
 * signature checks do their full work.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildKeyOf, configKeyOf, type BuildConfig } from '../src/formats/build-config.js';
import { canonicalJson } from '../src/formats/canonical-json.js';
import { signCheckpoint } from '../src/log/checkpoint.js';
import { encodeBundle, tilePath, TILE_WIDTH, TreeEdge } from '../src/log/tiles.js';
import { canonicalEnvelope, pae, type Envelope } from '../src/trust/dsse.js';
import { generateKey, privateKeyToPem, readPrivateKey, signBytes, type PrivateKey } from '../src/trust/keys.js';
import { ATTESTATION_TYPE, keyRef, signCertificate } from '../src/trust/statements.js';

export const FORMAT = 1;
export const OPS = 100;
export const NEW = 1000;
export const CHOST = 'x86_64-pc-linux-gnu';
export const ORIGIN = 'bench.binswarm/log';

export interface SyntheticLog {
  dir: string;
  big: string;
  small: string;
  n: number;
  /** Bytes of entry bundles a first sync of big/ to checkpoint.base downloads. */
  firstSyncBytes: number;
}

class TileWriter {
  private readonly edge = TreeEdge.empty();
  private pending: Buffer[] = [];
  private first = 0;
  bytes = 0;
  constructor(readonly dir: string, private readonly startTime: number) {}

  get size(): number {
    return this.edge.size;
  }

  add(type: string, env: Envelope): void {
    const leaf = Buffer.from(`{"envelope":${canonicalEnvelope(env)},"logTime":${this.startTime + this.edge.size},"type":"${type}"}`);
    this.edge.appendLeaf(leaf);
    this.pending.push(leaf);
    if (this.pending.length === TILE_WIDTH) this.flush(true);
  }

  private write(rel: string, data: Buffer): void {
    const p = join(this.dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
  }

  /** Writes the full bundle, or the partial one at the current size (kept in memory to grow). */
  private flush(full: boolean): void {
    const data = encodeBundle(this.pending);
    const index = this.first / TILE_WIDTH;
    this.write(tilePath({ level: 'entries', index, width: this.pending.length }), data);
    if (full) {
      this.bytes += data.length;
      this.first += TILE_WIDTH;
      this.pending = [];
    }
  }

  checkpoint(name: string, key: PrivateKey): void {
    if (this.pending.length > 0) this.flush(false);
    this.write(name, Buffer.from(signCheckpoint({ origin: ORIGIN, size: this.edge.size, root: this.edge.root(), extensions: [] }, ORIGIN, key)));
  }

  /** Bytes of bundles (full, plus the current partial) covering the tree so far. */
  coveredBytes(): number {
    return this.bytes + (this.pending.length ? encodeBundle(this.pending).length : 0);
  }
}

function signAtt(builder: PrivateKey, cfg: BuildConfig, output: string, time: string): Envelope {
  const statement = {
    _type: 'binswarm/attestation/v1', builder: keyRef(builder.publicKey), kind: 'build', cpv: cfg.cpv, buildConfig: cfg,
    buildKey: buildKeyOf(cfg), configKey: configKeyOf(cfg), outputDigest: output,
    archive: { sha256: output.split('').reverse().join(''), size: 123_456, pieceRoot: 'd'.repeat(64) }, time,
  };
  const payload = Buffer.from(canonicalJson(statement));
  return { payloadType: ATTESTATION_TYPE, payload: payload.toString('base64'), signatures: [{ keyid: builder.publicKey.id, sig: signBytes(builder, pae(ATTESTATION_TYPE, payload)).toString('base64') }] };
}

function config(cpv: string, chost: string, use: string[]): BuildConfig {
  return { v: 1, cpv, repo: 'gentoo', ebuild: 'e'.repeat(64), eclasses: ['toolchain-funcs'], eapi: '8', chost, arch: chost.startsWith('x86_64') ? 'amd64' : 'arm64', use, cflags: '-O2 -pipe', cxxflags: '-O2 -pipe', ldflags: '-Wl,-O1', features: [], installMask: '', depAbi: [] };
}

function digest(i: number): string {
  return (i.toString(16).padStart(8, '0') + 'ab').repeat(7).slice(0, 64);
}

export async function syntheticLog(n: number, progress: (line: string) => void): Promise<SyntheticLog> {
  const dir = join(tmpdir(), `binswarm-bench-gateway-v${FORMAT}-${n}`);
  const big = join(dir, 'big');
  const small = join(dir, 'small');
  if (existsSync(join(dir, 'done.json'))) return { dir, big, small, n, ...(JSON.parse(readFileSync(join(dir, 'done.json'), 'utf8')) as { firstSyncBytes: number }) };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const root = generateKey();
  const logKey = generateKey();
  writeFileSync(join(dir, 'root.key'), privateKeyToPem(root));
  writeFileSync(join(dir, 'log.key'), privateKeyToPem(logKey));
  const t0 = Date.now() - 2 * 86_400_000;
  const from = new Date(t0 - 30 * 86_400_000);
  const to = new Date(t0 + 3650 * 86_400_000);
  const ops = Array.from({ length: OPS }, (_, i) => {
    const op = generateKey();
    const b = generateKey();
    return { b, certs: [signCertificate({ role: 'operator', name: `op${i}`, subject: op.publicKey, notBefore: from, notAfter: to }, root), signCertificate({ role: 'builder', name: `op${i}-b1`, subject: b.publicKey, notBefore: from, notAfter: to }, op)] };
  });
  const bigW = new TileWriter(big, t0);
  const smallW = new TileWriter(small, t0);
  for (const o of ops) for (const c of o.certs) {
    bigW.add('certificate', c);
    smallW.add('certificate', c);
  }
  smallW.checkpoint('checkpoint.base', logKey);
  const time = new Date(t0 - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const started = Date.now();
  // Two operators attest each build; half the builds are for another CHOST.
  for (let build = 0; bigW.size < n; build++) {
    const chost = build % 2 === 0 ? CHOST : 'aarch64-unknown-linux-gnu';
    const cfg = config(`cat-${build % 97}/pkg${build}-1.${build % 7}`, chost, build % 3 === 0 ? ['nls'] : ['debug']);
    for (let k = 0; k < 2 && bigW.size < n; k++) bigW.add('attestation', signAtt(ops[(build + k * 37) % OPS]!.b, cfg, digest(build), time));
    if (build % 20_000 === 0) progress(`generating the synthetic log: ${bigW.size}/${n} (${Math.round((Date.now() - started) / 1000)} s)`);
  }
  bigW.checkpoint('checkpoint.base', logKey);
  const firstSyncBytes = bigW.coveredBytes();
  for (let i = 0; i < NEW / 2; i++) {
    const cfg = config(`new-cat/new${i}-1.0`, CHOST, ['nls']);
    for (let k = 0; k < 2; k++) {
      const env = signAtt(ops[(i + k * 37) % OPS]!.b, cfg, digest(10_000_000 + i), time);
      bigW.add('attestation', env);
      smallW.add('attestation', env);
    }
  }
  bigW.checkpoint('checkpoint.new', logKey);
  smallW.checkpoint('checkpoint.new', logKey);
  writeFileSync(join(dir, 'done.json.tmp'), JSON.stringify({ firstSyncBytes }));
  renameSync(join(dir, 'done.json.tmp'), join(dir, 'done.json'));
  return { dir, big, small, n, firstSyncBytes };
}

export async function benchKeys(dir: string): Promise<{ root: PrivateKey; log: PrivateKey }> {
  return { root: await readPrivateKey(join(dir, 'root.key')), log: await readPrivateKey(join(dir, 'log.key')) };
}
