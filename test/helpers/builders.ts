/** Job specs for the example backend's repository (`binswarm-example`). */
import type { JobSpec } from '../../src/api/v1.js';

export function exampleSpec(cpv: string, use: string[], extra: Partial<JobSpec> = {}): JobSpec {
  return { cpv, repo: 'binswarm-example', chost: 'x86_64-pc-linux-gnu', arch: 'amd64', use, cflags: '-O2 -pipe', cxxflags: '-O2 -pipe', ldflags: '-Wl,-O1', features: [], installMask: '', ...extra };
}
