/** `binswarm trust explain` — which packages a policy trusts, and why, per operator. */
import { Command } from 'commander';
import { BinswarmError } from '../errors.js';
import { evaluateTrust, type LoggedStatement, type TrustResult } from '../trust/evaluate.js';
import { asLoggedStatement } from '../trust/log-time.js';
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
  for (const a of r.attestations) {
    lines.push(`  ${a.counted ? '✔' : '✘'} ${a.kind ?? '?'} by builder ${a.builder.slice(0, 12)}${a.operator ? ` (${a.operator})` : ''}: ${a.reason}`);
    const logged = a.logTimeFrom === 'log' ? `log time ${a.logTime}${a.logIndex !== undefined ? ` (index ${a.logIndex})` : ''}` : `log time ${a.logTime} (not from a log: taken as logged at --now)`;
    lines.push(`      own time ${a.time ?? '?'} · ${logged} · decided by ${a.decidedBy === 'log-time' ? 'the log time' : 'its own time'}`);
  }
  return lines.join('\n');
}

const command: CliCommand = {
  build() {
    const trust = new Command().description('Trust decisions under your policy');
    trust
      .command('explain')
      .description('Evaluate attestations, certificates and revocations under a policy; say why each package is or is not trusted. Revocations and certificates are judged at each statement\'s log time; every attestation shows its own time, its log time and which one decided.')
      .argument('<files...>', 'statement files or directories of *.json: log entries {envelope, logIndex, logTime} as the coordinator serves them, or bare envelopes (taken as logged at --now)')
      .requiredOption('--policy <file>', 'policy TOML')
      .option('--now <iso>', 'evaluate as of this time (default: now); bare envelopes are judged as if logged then')
      .option('--json', 'print JSON')
      .action(async (files: string[], opts: { policy: string; now?: string; json?: boolean }) => {
        const policy = loadPolicy(opts.policy);
        const input = { attestations: [] as LoggedStatement[], certificates: [] as LoggedStatement[], revocations: [] as LoggedStatement[] };
        const skipped: { file: string; reason: string }[] = [];
        for (const file of await expandJsonFiles(files)) {
          const s = asLoggedStatement(await readJsonFile(file));
          const kind = s && statementKind(s.envelope);
          if (kind === 'attestation') input.attestations.push(s!);
          else if (kind === 'certificate') input.certificates.push(s!);
          else if (kind === 'revocation') input.revocations.push(s!);
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
