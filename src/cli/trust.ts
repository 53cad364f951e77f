/** `binswarm trust explain` — which packages a policy trusts, and why, per operator. */
import { Command } from 'commander';
import { BinswarmError } from '../errors.js';
import { evaluateTrust, type TrustResult } from '../trust/evaluate.js';
import { expandJsonFiles, readJsonFile } from '../trust/files.js';
import { loadPolicy } from '../trust/policy.js';
import { statementKind } from '../trust/statements.js';
import { parseTime } from './time.js';
import { printJson, type CliCommand } from './common.js';

function explain(r: TrustResult): string {
  const lines = [`${r.cpv}  [${r.status.toUpperCase()}]  level ${r.level}, required ${r.required}`, `  buildKey ${r.buildKey}`, `  why: ${r.why}`];
  for (const o of r.outputs) {
    lines.push(`  output ${o.outputDigest.slice(0, 16)}…  ${o.level} operator(s)${r.outputDigest === o.outputDigest ? '  ← served' : ''}`);
    for (const op of o.operators) lines.push(`    ${op.name} (operator ${op.keyId.slice(0, 12)}): builders ${op.builders.map((b) => b.name).join(', ')}`);
  }
  for (const a of r.attestations) lines.push(`  ${a.counted ? '✔' : '✘'} ${a.kind ?? '?'} by builder ${a.builder.slice(0, 12)}${a.operator ? ` (${a.operator})` : ''}: ${a.reason}`);
  return lines.join('\n');
}

const command: CliCommand = {
  build() {
    const trust = new Command().description('Trust decisions under your policy');
    trust
      .command('explain')
      .description('Evaluate attestations, certificates and revocations under a policy; say why each package is or is not trusted.')
      .argument('<files...>', 'envelope files (attestations, certificates, revocations) or directories of *.json')
      .requiredOption('--policy <file>', 'policy TOML')
      .option('--now <iso>', 'evaluate as of this time (default: now)')
      .option('--json', 'print JSON')
      .action(async (files: string[], opts: { policy: string; now?: string; json?: boolean }) => {
        const policy = loadPolicy(opts.policy);
        const input = { attestations: [] as unknown[], certificates: [] as unknown[], revocations: [] as unknown[] };
        const skipped: { file: string; reason: string }[] = [];
        for (const file of await expandJsonFiles(files)) {
          const value = await readJsonFile(file);
          const kind = statementKind(value);
          if (kind === 'attestation') input.attestations.push(value);
          else if (kind === 'certificate') input.certificates.push(value);
          else if (kind === 'revocation') input.revocations.push(value);
          else skipped.push({ file, reason: 'not a binswarm envelope' });
        }
        if (input.attestations.length === 0) throw new BinswarmError('NO_ATTESTATIONS', 'no attestation among the given files');
        const results = evaluateTrust({ ...input, policy, now: parseTime(opts.now) });
        if (opts.json) printJson({ results, skipped });
        else {
          console.log(results.map(explain).join('\n\n'));
          for (const s of skipped) console.log(`skipped ${s.file}: ${s.reason}`);
        }
      });
    return trust;
  },
};

export default command;
