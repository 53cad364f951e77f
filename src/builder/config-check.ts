/**
 * Is what the backend built the configuration the job asked for? Compared
 * on the build config read back from the archive (formats/digests.ts), so
 * a backend that ignored a flag, used other CFLAGS or another ebuild can
 * never get its output attested under the demanded configuration. For a
 * verify job the whole build config must give the attested buildKey —
 * including depAbi and links: a re-build against another library ABI
 * verifies nothing.
 */
import type { Job } from '../api/v1.js';
import { buildKeyOf, type BuildConfig } from '../formats/build-config.js';

const linksText = (c: BuildConfig) => c.links?.join(' ') ?? 'nothing';
const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/** A description of the first differences, or undefined when the build is the one asked for. */
export function configMismatch(job: Pick<Job, 'kind' | 'spec' | 'config' | 'target' | 'unlink'>, built: BuildConfig): string | undefined {
  const s = job.spec;
  const diffs: string[] = [];
  const cmp = (field: string, want: string, got: string) => {
    if (want !== got) diffs.push(`${field} ${JSON.stringify(got)} instead of ${JSON.stringify(want)}`);
  };
  const cmpList = (field: string, want: readonly string[], got: readonly string[]) => {
    if (!same(want, got)) diffs.push(`${field} [${got.join(' ')}] instead of [${want.join(' ')}]`);
  };
  cmp('cpv', s.cpv, built.cpv);
  cmp('repo', s.repo, built.repo);
  cmp('chost', s.chost, built.chost);
  cmp('arch', s.arch, built.arch);
  cmpList('USE', s.use, built.use);
  cmp('CFLAGS', s.cflags, built.cflags);
  cmp('CXXFLAGS', s.cxxflags, built.cxxflags);
  cmp('LDFLAGS', s.ldflags, built.ldflags);
  cmpList('FEATURES', s.features, built.features);
  cmp('INSTALL_MASK', s.installMask, built.installMask);
  if (s.ebuild) cmp('ebuild', s.ebuild, built.ebuild);
  if (s.eapi) cmp('EAPI', s.eapi, built.eapi);
  if (s.eclasses) cmpList('eclasses', s.eclasses, built.eclasses);
  if (job.kind === 'verify') {
    const want = job.target?.buildKey ?? (job.config ? buildKeyOf(job.config) : undefined);
    if (want === undefined) diffs.push('a verify job without the attested build config');
    else if (buildKeyOf(built) !== want) {
      if (job.config && !same(job.config.depAbi, built.depAbi)) diffs.push(`built against ${built.depAbi.join(' ') || 'no :=-dependencies'}, the attested build against ${job.config.depAbi.join(' ') || 'none'}`);
      else if (job.config && !same(job.config.links ?? [], built.links ?? [])) diffs.push(`links ${linksText(built)} instead of ${linksText(job.config)}${built.links ? '' : ' (no REQUIRES: is scanelf from pax-utils installed?)'}`);
      else diffs.push(`buildKey ${buildKeyOf(built).slice(0, 12)}… instead of the attested ${want.slice(0, 12)}…`);
    }
  }
  // An ABI rebuild exists to link the new library ABI: built against another one it rebuilt nothing.
  if (job.kind === 'abi-rebuild' && job.config && !same(job.config.depAbi, built.depAbi)) {
    diffs.push(`built against ${built.depAbi.join(' ') || 'no :=-dependencies'} instead of ${job.config.depAbi.join(' ')} (this builder's repository lacks the new library ABI)`);
  }
  // A soname rebuild exists to stop linking sonames only the old library provides.
  if (job.kind === 'abi-rebuild' && job.unlink?.length) {
    const still = job.unlink.filter((s) => built.links?.includes(s));
    if (!built.links) diffs.push(`cannot tell whether it still links ${job.unlink.join(' ')}: the output has no REQUIRES (is scanelf from pax-utils installed?)`);
    else if (still.length) diffs.push(`still links ${still.join(' ')}, which only the old library builds provide (this builder's system lacks the new library)`);
  }
  return diffs.length ? diffs.join('; ') : undefined;
}
