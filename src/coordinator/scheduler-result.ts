/**
 * What a builder's "built" result must show: an attestation it signed itself,
 * already in the log, for exactly the job's configuration. A builder cannot
 * close a job with some other build.
 */
import type { JobSpec } from '../api/v1.js';
import { BinswarmError } from '../errors.js';
import type { BuildConfig } from '../formats/build-config.js';
import type { JobRow } from './store/scheduler-store.js';
import type { Store } from './store/types.js';

const SPEC_FIELDS = ['cpv', 'repo', 'chost', 'arch', 'use', 'cflags', 'cxxflags', 'ldflags', 'features', 'installMask', 'ebuild', 'eclasses', 'eapi'] as const;

/** Fields where the attested config differs from what the job asked (fields the spec leaves open are not compared). */
export function specMismatch(spec: JobSpec, config: BuildConfig): string[] {
  return SPEC_FIELDS.filter((f) => spec[f] !== undefined && JSON.stringify(spec[f]) !== JSON.stringify(config[f]));
}

export async function checkAttestationForJob(store: Store, job: JobRow, keyId: string, attestationId: string | undefined): Promise<{ id: string; outputDigest: string; configKey: string; buildKey: string; envelope: string }> {
  const bad = (m: string) => new BinswarmError('BAD_RESULT', `job ${job.id}: ${m}`);
  if (!attestationId) throw bad('outcome "built" needs the id of the attestation (submit it first)');
  const att = await store.scheduler.attestation(attestationId);
  if (!att) throw bad(`attestation ${attestationId.slice(0, 12)} is not in the log; submit it before reporting the result`);
  if (att.signer !== keyId) throw bad('the attestation is signed by another key than the one holding the lease');
  if (job.kind === 'verify') {
    if (att.buildKey !== job.buildKey) throw bad('the attestation is for another build than the one to verify');
  } else {
    const env = JSON.parse(att.envelope) as { payload: string };
    const config = (JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as { buildConfig: BuildConfig }).buildConfig;
    const diff = specMismatch(JSON.parse(job.spec) as JobSpec, config);
    if (diff.length > 0) throw bad(`the attested build config differs from the job in ${diff.join(', ')}`);
    if (job.configKey && att.configKey !== job.configKey) throw bad('the attested configKey differs from the job');
    if (job.kind === 'abi-rebuild' && job.config && JSON.stringify([...config.depAbi].sort()) !== JSON.stringify([...(JSON.parse(job.config) as BuildConfig).depAbi].sort())) {
      throw bad('the attested build links other library ABIs than the rebuild asked for');
    }
    // A soname rebuild that still links a soname only the old library provides rebuilt nothing.
    const unlink = job.kind === 'abi-rebuild' && job.unlink ? (JSON.parse(job.unlink) as string[]) : [];
    if (unlink.length > 0) {
      if (!config.links) throw bad(`the attested build records no links (no REQUIRES), so it cannot show it no longer links ${unlink.join(' ')}`);
      const still = unlink.filter((x) => config.links!.includes(x));
      if (still.length > 0) throw bad(`the attested build still links ${still.join(' ')}, which the rebuild was to drop`);
    }
  }
  return { id: att.id, outputDigest: att.outputDigest, configKey: att.configKey, buildKey: att.buildKey, envelope: att.envelope };
}
