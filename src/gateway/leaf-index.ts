/**
 * What a gateway indexes of each log entry, read once at sync: the kind,
 * who signed it and what it is about. Nothing here is verified — the index
 * only decides which statements trust evaluation looks at; evaluation opens
 * each statement properly (schema, signature) and drops one whose content
 * differs from its index row.
 */
export const KIND = { attestation: 1, certificate: 2, revocation: 3 } as const;
export type Kind = (typeof KIND)[keyof typeof KIND];

export interface IndexedLeaf {
  kind: Kind;
  /** Builder key (attestation) or issuer key (certificate, revocation). */
  signer: string;
  /** Attestations. */
  buildKey?: string;
  chost?: string;
  cpv?: string;
  /** Enabled IUSE flags of the build (attestations). */
  use?: string[];
  /** Certified or revoked key. */
  subject?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const PREFIX = Buffer.from('{"envelope":{"payload":"');
const TAIL = /\},"logTime":(0|[1-9][0-9]{0,15}),"type":"(attestation|certificate|revocation)"\}$/;

/**
 * Statement leaves as the coordinator writes them (canonical JSON:
 * `{"envelope":{"payload":"<base64>",…},"logTime":N,"type":"…"}`) read
 * without parsing the whole leaf: most of a 10⁶-entry sync is this. A
 * leaf in any other shape takes the JSON.parse path; either way evaluation
 * parses the leaf in full before relying on it.
 */
function fastStatementLeaf(buf: Buffer): { type: string; logTime: number; envelope: { payload: string } } | undefined {
  if (buf.length < PREFIX.length + 40 || buf.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) !== 0) return undefined;
  const end = buf.indexOf(0x22, PREFIX.length);
  if (end < 0) return undefined;
  const m = TAIL.exec(buf.toString('latin1', Math.max(end, buf.length - 48)));
  if (!m) return undefined;
  return { type: m[2]!, logTime: Number(m[1]), envelope: { payload: buf.toString('latin1', PREFIX.length, end) } };
}

/**
 * A leaf's receipt time (every leaf has one; undefined when the leaf is
 * malformed) and its index row (undefined for entries the gateway does not
 * evaluate: disputes, binrevs, malformed statements).
 */
export function indexLeaf(data: Uint8Array): { logTime?: number; ix?: IndexedLeaf } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fast = fastStatementLeaf(buf);
  if (fast) return { logTime: fast.logTime, ix: indexStatement(fast) };
  let leaf: { type?: unknown; envelope?: { payload?: unknown }; logTime?: unknown };
  try {
    leaf = JSON.parse(buf.toString('utf8')) as typeof leaf;
  } catch {
    return {};
  }
  const logTime = Number.isSafeInteger(leaf?.logTime) && (leaf.logTime as number) >= 0 ? (leaf.logTime as number) : undefined;
  return { logTime, ix: logTime === undefined ? undefined : indexStatement(leaf) };
}

/** A string value after `key` (first occurrence), up to the next quote; undefined if absent or escaped. */
function after(text: string, key: string, from = 0): string | undefined {
  const at = text.indexOf(key, from);
  if (at < 0) return undefined;
  const start = at + key.length;
  const end = text.indexOf('"', start);
  if (end < 0 || text.charCodeAt(end - 1) === 92) return undefined;
  return text.slice(start, end);
}

/**
 * Attestation payloads in canonical form (sorted keys, as signers write
 * them): the index fields found by position, no object tree. Anything not
 * in that form takes the JSON path.
 */
function fastAttestation(text: string): IndexedLeaf | undefined {
  if (!text.startsWith('{"_type":"binswarm/attestation/v1","archive":{')) return undefined;
  const cfg = text.indexOf('"buildConfig":{');
  if (cfg < 0) return undefined;
  const chost = after(text, '"chost":"', cfg);
  const cpv = after(text, '"cpv":"', cfg);
  const useAt = text.indexOf('"use":[', cfg);
  const useEnd = useAt < 0 ? -1 : text.indexOf(']', useAt);
  const buildKey = after(text, '},"buildKey":"', cfg);
  const builder = after(text, '"builder":{"keyId":"', cfg);
  if (chost === undefined || cpv === undefined || useEnd < 0 || !buildKey || !builder || !HEX64.test(buildKey) || !HEX64.test(builder)) return undefined;
  const list = text.slice(useAt + 7, useEnd);
  if (list.includes('\\')) return undefined;
  const use = list === '' ? [] : list.slice(1, -1).split('","');
  return { kind: KIND.attestation, signer: builder, buildKey, chost, cpv, use };
}

function indexStatement(leaf: { type?: unknown; envelope?: { payload?: unknown } }): IndexedLeaf | undefined {
  let p: Record<string, unknown>;
  try {
    const kind = leaf?.type;
    if (kind !== 'attestation' && kind !== 'certificate' && kind !== 'revocation') return undefined;
    if (typeof leaf.envelope?.payload !== 'string') return undefined;
    const text = Buffer.from(leaf.envelope.payload, 'base64').toString('utf8');
    if (kind === 'attestation') {
      const fast = fastAttestation(text);
      if (fast) return fast;
    }
    p = JSON.parse(text) as Record<string, unknown>;
    if (!p || typeof p !== 'object') return undefined;
  } catch {
    return undefined;
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  if (leaf.type === 'attestation') {
    const builder = str((p.builder as { keyId?: unknown } | undefined)?.keyId);
    const buildKey = str(p.buildKey);
    const cfg = p.buildConfig as { chost?: unknown; use?: unknown } | undefined;
    if (!builder || !HEX64.test(builder) || !buildKey || !HEX64.test(buildKey)) return undefined;
    const use = Array.isArray(cfg?.use) ? cfg.use.filter((u): u is string => typeof u === 'string') : [];
    return { kind: KIND.attestation, signer: builder, buildKey, chost: str(cfg?.chost) ?? '', cpv: str(p.cpv) ?? '', use };
  }
  const issuer = str(p.issuer);
  const subject = leaf.type === 'certificate' ? str((p.subject as { keyId?: unknown } | undefined)?.keyId) : str(p.subject);
  if (!issuer || !HEX64.test(issuer) || !subject || !HEX64.test(subject)) return undefined;
  return { kind: leaf.type === 'certificate' ? KIND.certificate : KIND.revocation, signer: issuer, subject };
}
