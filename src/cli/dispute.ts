/** `binswarm dispute show BUILDKEY` — why builders disagree about one build. */
import { Command } from 'commander';
import { CoordinatorClient } from '../api/client.js';
import type { ListedEntry } from '../api/v1.js';
import { printJson, type CliCommand } from './common.js';

function describe(e: ListedEntry | null): string {
  if (!e) return '(absent)';
  const extra = e.type === 'file' ? ` size ${e.size} sha256 ${e.sha256?.slice(0, 16)}` : e.target !== undefined ? ` -> ${e.target}` : e.dev ? ` dev ${e.dev.join(',')}` : '';
  return `${e.type} ${e.mode} ${e.uid}:${e.gid}${extra}`;
}

const command: CliCommand = {
  build() {
    const show = new Command('show')
      .description('List the image entries (type, mode, size, sha256, link target) and metadata keys that differ between the outputs of a disputed build, from the canonical listings the digests are computed over.')
      .argument('<buildKey>', 'the disputed buildKey (see GET /v1/disputes)')
      .requiredOption('--coordinator <url>', 'coordinator URL')
      .option('--json', 'print JSON')
      .action(async (buildKey: string, o: { coordinator: string; json?: boolean }) => {
        const x = await new CoordinatorClient(o.coordinator).explainDispute(buildKey);
        if (o.json) {
          printJson(x);
          return;
        }
        console.log(`${x.cpv}  build ${x.buildKey}`);
        x.outputs.forEach((out, i) => console.log(`  output ${String.fromCharCode(65 + i)}: ${out.outputDigest}  attested by ${out.attesters.length} key(s)${out.listing ? '' : '  (no listing uploaded)'}`));
        const name = new Map(x.outputs.map((out, i) => [out.outputDigest, String.fromCharCode(65 + i)]));
        for (const r of x.renamed) console.log(`directory named differently in each output (a build prefix?): ${Object.entries(r.names).map(([d, p]) => `${name.get(d)}: ${p}`).join(', ')}`);
        if (x.image.length) console.log(`image entries that differ (${x.image.length}${x.truncated ? '+' : ''}):`);
        for (const d of x.image) {
          console.log(`  ${d.path}  [${d.fields.join(', ')}]`);
          for (const [digest, e] of Object.entries(d.entries)) console.log(`    ${name.get(digest)}: ${describe(e)}`);
        }
        if (x.metadata.length) console.log(`metadata that differs (${x.metadata.length}):`);
        for (const d of x.metadata) {
          console.log(`  ${d.key}`);
          for (const [digest, v] of Object.entries(d.values)) console.log(`    ${name.get(digest)}: ${v ? `size ${v.size} sha256 ${v.sha256.slice(0, 16)}` : '(absent)'}`);
        }
        if (x.image.length === 0 && x.metadata.length === 0 && x.missingListings.length === 0) console.log('the listings do not differ beyond the renamed directory');
        if (x.missingListings.length) console.log(`no listing yet for ${x.missingListings.length} output(s); builders upload them with their results`);
      });
    return new Command().description('Disputes: builds whose builders disagree').addCommand(show);
  },
};

export default command;
