/**
 * Trust levels as the dashboard shows them (pure): per output of a build,
 * the distinct operators whose certified builder keys attested it. The
 * coordinator only logged statements whose keys were in good standing at
 * receipt (standing.ts); a revocation logged later still voids what was
 * logged at or after its time, as clients judge it (trust/evaluate.ts).
 * Operators are told apart by key, never by the name they chose.
 */
import type { DashboardOutput } from '../../api/v1.js';
import type { SignerChain } from '../store/dashboard-store.js';

export interface AttestationFact {
  signer: string;
  outputDigest: string;
  logTime: number;
}

/** Outputs of one build, best first (level, then attestations, then digest for a stable order). */
export function outputsOf(atts: readonly AttestationFact[], chains: ReadonlyMap<string, SignerChain>): DashboardOutput[] {
  const by = new Map<string, { operators: Map<string, string>; attestations: number }>();
  for (const a of atts) {
    const o = by.get(a.outputDigest) ?? { operators: new Map<string, string>(), attestations: 0 };
    by.set(a.outputDigest, o);
    o.attestations += 1;
    const chain = chains.get(a.signer);
    if (!chain || (chain.revokedAt !== null && chain.revokedAt <= a.logTime)) continue;
    o.operators.set(chain.operator, chain.operatorName);
  }
  return [...by.entries()]
    .map(([outputDigest, o]) => ({ outputDigest, level: o.operators.size, operators: [...o.operators.values()].sort(), attestations: o.attestations }))
    .sort((x, y) => y.level - x.level || y.attestations - x.attestations || (x.outputDigest < y.outputDigest ? -1 : 1));
}

/** USE flags of an attestation's build config, read from its envelope (verified when it was logged); [] when unreadable. */
export function useOf(envelope: string): string[] {
  try {
    const env = JSON.parse(envelope) as { payload?: string };
    const st = JSON.parse(Buffer.from(env.payload ?? '', 'base64').toString('utf8')) as { buildConfig?: { use?: unknown } };
    const use = st.buildConfig?.use;
    return Array.isArray(use) ? use.filter((u): u is string => typeof u === 'string') : [];
  } catch {
    return [];
  }
}
