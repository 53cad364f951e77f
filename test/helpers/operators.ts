/**
 * Key files for end-to-end tests with real processes: a root, operators
 * certified by it, one builder key per operator certified by its operator,
 * and a consumer key. Everything is written to `dir` as the CLI reads it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKey, privateKeyToPem, publicKeyToPem, type PrivateKey } from '../../src/trust/keys.js';
import { signCertificate } from '../../src/trust/statements.js';

const DAY = 86_400_000;

export interface OperatorFiles {
  name: string;
  /** The builder's private key file. */
  key: string;
  /** The builder's key id. */
  keyId: string;
  /** Operator certificate, then builder certificate. */
  certs: string[];
}

export function operatorWorld(dir: string, names: string[]): { rootPub: string; people: OperatorFiles[]; consumer: string } {
  const write = (name: string, k: PrivateKey) => {
    writeFileSync(join(dir, `${name}.key`), privateKeyToPem(k), { mode: 0o600 });
    writeFileSync(join(dir, `${name}.key.pub`), publicKeyToPem(k.publicKey));
    return join(dir, `${name}.key`);
  };
  const root = generateKey();
  write('root', root);
  const from = new Date(Date.now() - DAY);
  const to = new Date(Date.now() + 365 * DAY);
  const people = names.map((name) => {
    const op = generateKey();
    const builder = generateKey();
    write(`${name}-op`, op);
    const key = write(`${name}-b1`, builder);
    const opCert = join(dir, `${name}-op.cert.json`);
    const bCert = join(dir, `${name}-b1.cert.json`);
    writeFileSync(opCert, JSON.stringify(signCertificate({ role: 'operator', name, subject: op.publicKey, notBefore: from, notAfter: to }, root)));
    writeFileSync(bCert, JSON.stringify(signCertificate({ role: 'builder', name: `${name}-b1`, subject: builder.publicKey, notBefore: from, notAfter: to }, op)));
    return { name, key, keyId: builder.publicKey.id, certs: [opCert, bCert] };
  });
  return { rootPub: join(dir, 'root.key.pub'), people, consumer: write('consumer', generateKey()) };
}

export function policyFile(dir: string, name: string, body: string): string {
  const path = join(dir, `${name}.toml`);
  writeFileSync(path, `roots = ["root.key.pub"]\n${body}`);
  return path;
}
