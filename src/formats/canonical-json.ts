/**
 * Canonical JSON (RFC 8785, JCS): sorted keys, no whitespace, ES number
 * formatting. Hashes of build configs and signed statements depend on these
 * exact bytes, so one implementation is used everywhere.
 */
import canonicalizeImpl from 'canonicalize';

const canonicalize = canonicalizeImpl as unknown as (v: unknown) => string | undefined;

export function canonicalJson(value: unknown): string {
  const s = canonicalize(value);
  if (s === undefined) throw new TypeError('value cannot be canonicalised');
  return s;
}
