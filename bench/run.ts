/**
 * `npm run bench [CASE...]`: runs benchmark cases (default: all). Each case
 * measures binswarm against a baseline in the same run and prints a ratio,
 * because absolute times mean nothing across machines.
 */
export interface BenchResult {
  name: string;
  /** Human lines to print. */
  lines: string[];
  /** Headline ratios, e.g. { 'inspect vs zstd|sha256sum': 1.3 } (>1 = binswarm faster). */
  ratios: Record<string, number>;
}

export type BenchCase = () => Promise<BenchResult>;

const CASES: Record<string, () => Promise<{ default: BenchCase }>> = {
  formats: () => import('./formats.js'),
  trust: () => import('./trust.js'),
  merkle: () => import('./merkle.js'),
  coordinator: () => import('./coordinator.js'),
  swarm: () => import('./swarm.js'),
  gateway: () => import('./gateway.js'),
  scheduler: () => import('./scheduler.js'),
  builder: () => import('./builder.js'),
  'portage-sign': () => import('./portage-sign.js'),
  tracker: () => import('./tracker.js'),
  dashboard: () => import('./dashboard.js'),
  abi: () => import('./abi.js'),
  assign: () => import('./assign.js'),
};

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const names = argv.filter((a) => !a.startsWith('--'));
  const selected = names.length > 0 ? names : Object.keys(CASES);
  const results: BenchResult[] = [];
  for (const name of selected) {
    const load = CASES[name];
    if (!load) throw new Error(`unknown bench case '${name}' (known: ${Object.keys(CASES).join(', ')})`);
    process.stderr.write(`== bench ${name}\n`);
    const result = await (await load()).default();
    results.push(result);
    if (!json) {
      for (const l of result.lines) console.log(`  ${l}`);
      for (const [k, v] of Object.entries(result.ratios)) console.log(`  ratio ${k}: ${v.toFixed(2)}x`);
    }
  }
  if (json) console.log(JSON.stringify(results, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
