/** The build backends by name, and how the node's flags configure them. */
import { BinswarmError } from '../errors.js';
import type { BuildBackend } from './backend.js';
import { ExampleBackend } from './example-backend.js';
import { PortageBackend } from './portage-backend.js';

export const BACKENDS = ['example', 'portage'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendSettings {
  chost?: string;
  /** example: another ebuild repository laid out like the bundled one. */
  exampleRepo?: string;
  /** portage: the build command (split on spaces). */
  portageCommand?: string;
  /** portage: fixed build prefix. */
  portagePrefix?: string;
  /** portage: ebuild repository to check job ebuild digests against. */
  portageTree?: string;
}

export function createBackend(name: string, s: BackendSettings): BuildBackend {
  switch (name) {
    case 'example':
      return new ExampleBackend({ ...(s.chost ? { chost: s.chost } : {}), ...(s.exampleRepo ? { repoDir: s.exampleRepo } : {}) });
    case 'portage': {
      const command = (s.portageCommand ?? 'binswarm-portage-build').split(/\s+/).filter(Boolean);
      return new PortageBackend({
        command,
        prefix: s.portagePrefix ?? '/var/tmp/binswarm/portage-prefix',
        ...(s.portageTree ? { tree: s.portageTree } : {}),
        ...(s.chost ? { chost: s.chost } : {}),
        ...(process.env.PORTAGE_SRC ? { env: { PORTAGE_SRC: process.env.PORTAGE_SRC } } : {}),
      });
    }
    default:
      throw new BinswarmError('BAD_ARGUMENT', `unknown backend '${name}' (known: ${BACKENDS.join(', ')})`);
  }
}
