/**
 * The demo network's identities, kept in DIR/keys so that a restarted demo
 * is the same network: a trust root, three operators (alice, bob, carol)
 * each with one certified builder key, two mirror keys, a witness key and a
 * consumer key,
 * plus the consumer's policy. Made on first start, read afterwards.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKey, privateKeyToPem, publicKeyToPem, readPrivateKey, type PrivateKey } from '../trust/keys.js';
import { signCertificate } from '../trust/statements.js';

const DAY = 86_400_000;
export const OPERATORS = ['alice', 'bob', 'carol'] as const;
export const MIRRORS = [
  { name: 'mirror-a', domain: 'site-a' },
  { name: 'mirror-b', domain: 'site-b' },
] as const;
/** Independent operators that must agree before the demo consumer trusts a build. */
export const DEMO_THRESHOLD = 2;

export interface DemoOperator {
  name: string;
  /** The builder's private key file and key id. */
  key: string;
  keyId: string;
  /** Operator certificate, then builder certificate. */
  certs: string[];
}

export interface DemoWorld {
  rootPub: string;
  operators: DemoOperator[];
  mirrors: { name: string; domain: string; key: string }[];
  consumer: string;
  witness: string;
  policy: string;
}

async function keyFile(dir: string, name: string): Promise<{ path: string; key: PrivateKey }> {
  const path = join(dir, `${name}.key`);
  if (!existsSync(path)) {
    const k = generateKey();
    writeFileSync(path, privateKeyToPem(k), { mode: 0o600 });
    writeFileSync(`${path}.pub`, publicKeyToPem(k.publicKey));
  }
  return { path, key: await readPrivateKey(path) };
}

function certFile(path: string, make: () => unknown): string {
  if (!existsSync(path)) writeFileSync(path, JSON.stringify(make()));
  return path;
}

export async function demoWorld(dataDir: string, now = Date.now()): Promise<DemoWorld> {
  const dir = join(dataDir, 'keys');
  mkdirSync(dir, { recursive: true });
  const root = await keyFile(dir, 'root');
  // A year of validity from the first start: a demo kept for longer is reset with --reset.
  const validity = { notBefore: new Date(now - DAY), notAfter: new Date(now + 365 * DAY) };
  const operators: DemoOperator[] = [];
  for (const name of OPERATORS) {
    const op = await keyFile(dir, `${name}-op`);
    const b = await keyFile(dir, `${name}-builder`);
    const certs = [
      certFile(join(dir, `${name}-op.cert.json`), () => signCertificate({ role: 'operator', name, subject: op.key.publicKey, ...validity }, root.key)),
      certFile(join(dir, `${name}-builder.cert.json`), () => signCertificate({ role: 'builder', name: `${name}-builder`, subject: b.key.publicKey, ...validity }, op.key)),
    ];
    operators.push({ name, key: b.path, keyId: b.key.publicKey.id, certs });
  }
  const mirrors = [];
  for (const m of MIRRORS) mirrors.push({ ...m, key: (await keyFile(dir, m.name)).path });
  const consumer = (await keyFile(dir, 'consumer')).path;
  const witness = (await keyFile(dir, 'witness')).path;
  const policy = join(dataDir, 'policy.toml');
  if (!existsSync(policy)) writeFileSync(policy, `# The demo consumer's trust policy (see README, "Policy").\nroots = ["keys/root.key.pub"]\nthreshold = ${DEMO_THRESHOLD}\non-dispute = "reject"\n`);
  return { rootPub: `${root.path}.pub`, operators, mirrors, consumer, witness, policy };
}

