/**
 * What a node does, each role opt-in beyond `consume`, and what each one
 * shares with the network (shown by `binswarm status`, documented in
 * contrib/binswarm.toml). A user's node only consumes unless told otherwise.
 */
import { BinswarmError } from '../errors.js';

export const ROLES = {
  consume: 'nothing: a gateway on loopback fetches what your policy trusts (downloads are seen by the holders you fetch from)',
  contribute: 'the binaries in your PKGDIR and their build configs (USE, CFLAGS, CHOST…), signed with your key; your blob server address',
  sign: 'signatures only: an attestation that your own build matches an output the network already has',
  mirror: 'disk and upload bandwidth: stores and serves archives the coordinator places on you',
  build: 'idle CPU: builds and re-builds what the scheduler assigns, signed with your builder key',
  census: 'the CATEGORY/PF, USE, CFLAGS, CHOST and SLOT of your installed packages (nothing else from the VDB)',
  witness: 'cosignatures of the coordinator log checkpoints you checked',
} as const;

export type Role = keyof typeof ROLES;
export const DEFAULT_ROLES: Role[] = ['consume'];

/** `consume,contribute` → the roles, refusing unknown names (a typo must not silently share less, or more). */
export function parseRoles(text: string): Role[] {
  const roles = text.split(',').map((r) => r.trim()).filter(Boolean);
  const bad = roles.filter((r) => !(r in ROLES));
  if (bad.length > 0) throw new BinswarmError('BAD_ARGUMENT', `unknown role '${bad[0]}' (roles: ${Object.keys(ROLES).join(', ')})`);
  return [...new Set(roles)] as Role[];
}
