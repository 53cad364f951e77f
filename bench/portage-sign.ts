/**
 * `portage-sign` case: what serving a package signed for Portage costs the
 * gateway, once per verified archive. binswarm's signVerifiedGpkg (pass 1:
 * sha256 of the source + BLAKE2B/SHA512 + detached gpg signature per
 * member; clearsign the Manifest; pass 2: copy each member, hashing it
 * again, fsync; pass 3: read the result back against its Manifest) against
 * the least any signer does: one `gpg --detach-sign` over the archive.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signVerifiedGpkg } from '../src/formats/gpkg-sign.js';
import { writeGpkg } from '../src/formats/gpkg-write.js';
import { inspectPackage } from '../src/formats/inspect.js';
import { Gpg } from '../src/formats/openpgp.js';
import type { BenchResult } from './run.js';

const IMAGE_MIB = Number(process.env.BENCH_SIGN_MIB ?? 64);

export default async function bench(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'binswarm-bench-sign-'));
  const gpg = new Gpg({ home: join(dir, 'gnupg') });
  try {
    const image = join(dir, 'image/usr/lib/bench');
    mkdirSync(image, { recursive: true });
    // Half random, half zeros: zstd shrinks it about 2:1, like a real tree.
    for (let i = 0; i < IMAGE_MIB / 4; i++) writeFileSync(join(image, `part-${i}.dat`), Buffer.concat([randomBytes(2 << 20), Buffer.alloc(2 << 20)]));
    const pkg = join(dir, 'bench-1.0.gpkg.tar');
    await writeGpkg({ imageDir: join(dir, 'image'), metadata: { CATEGORY: 'app-misc\n', PF: 'bench-1.0\n', SLOT: '0\n', EAPI: '8\n', USE: 'amd64\n', IUSE: '\n', CHOST: 'x86_64-pc-linux-gnu\n', 'bench-1.0.ebuild': 'EAPI=8\n' }, out: pkg, basename: 'bench-1.0' });
    const info = await inspectPackage(pkg, { format: 'gpkg' });
    const { fingerprint } = await gpg.ensureKey('bench <bench@example.invalid>');
    const runs = 3;
    let base = Infinity;
    let ours = Infinity;
    for (let r = 0; r < runs; r++) {
      let t = process.hrtime.bigint();
      const g = spawnSync('gpg', ['--homedir', join(dir, 'gnupg'), '--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', fingerprint, '--digest-algo', 'SHA512', '--armor', '--detach-sign', '--output', '-', pkg], { maxBuffer: 1 << 20 });
      if (g.status !== 0) throw new Error(`gpg failed: ${g.stderr}`);
      base = Math.min(base, Number(process.hrtime.bigint() - t) / 1e9);
      t = process.hrtime.bigint();
      await signVerifiedGpkg({ path: pkg, sha256: info.archive.sha256 }, join(dir, `signed-${r}.gpkg.tar`), gpg);
      ours = Math.min(ours, Number(process.hrtime.bigint() - t) / 1e9);
    }
    const mib = info.archive.size / 2 ** 20;
    return {
      name: 'portage-sign',
      lines: [`archive ${mib.toFixed(1)} MiB (image ${IMAGE_MIB} MiB), best of ${runs}`, `gpg --detach-sign of the archive: ${base.toFixed(3)} s`, `signVerifiedGpkg (sign members + Manifest, copy, read back): ${ours.toFixed(3)} s (${(mib / ours).toFixed(0)} MiB/s)`],
      ratios: { 'signVerifiedGpkg vs one gpg --detach-sign': base / ours },
    };
  } finally {
    await gpg.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
