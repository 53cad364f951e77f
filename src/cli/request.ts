/** `binswarm request ATOM` — ask the coordinator for one configuration explicitly. */
import { Command } from 'commander';
import { CoordinatorClient } from '../api/client.js';
import type { JobSpec } from '../api/v1.js';
import { BinswarmError } from '../errors.js';
import { isValidCpv, parseAtom } from '../formats/atom.js';
import { installMaskOfVariant, VARIANTS } from '../formats/install-mask.js';
import { readPrivateKey } from '../trust/keys.js';
import { printJson, type CliCommand } from './common.js';
import { DEFAULT_CHOST } from './gateway.js';

const words = (s: string) => s.split(/\s+/).filter(Boolean);

/** `=cat/pkg-1.0`, `cat/pkg-1.0` or `=cat/pkg-1.0::repo` → cpv and repo. One exact version: a builder builds one thing. */
export function requestTarget(atom: string): { cpv: string; repo?: string } {
  if (isValidCpv(atom)) return { cpv: atom };
  const a = parseAtom(atom);
  if (!a.version || a.wildcard || (a.operator !== undefined && a.operator !== '=') || a.blocker || a.useDeps.length > 0 || a.slot || a.slotOperator) {
    throw new BinswarmError('BAD_ATOM', `'${atom}': give exactly one version, like =${a.category}/${a.pn}-1.0 (a build is one package version)`);
  }
  return { cpv: `${a.category}/${a.pn}-${a.version}`, ...(a.repo ? { repo: a.repo } : {}) };
}

const command: CliCommand = {
  build() {
    return new Command()
      .description('Ask for one build configuration of one package version; it counts as your demand, and a build job is queued when nobody has built it.')
      .argument('<atom>', 'the package version: =cat/pkg-1.0 (optionally ::repo)')
      .requiredOption('--coordinator <url>', 'coordinator URL')
      .requiredOption('--key <file>', 'your private key (signs the request)')
      .option('--use <flags>', 'enabled USE flags of the package (the others are off)', '')
      .option('--cflags <flags>', 'CFLAGS', '-O2 -pipe')
      .option('--cxxflags <flags>', 'CXXFLAGS (default: the CFLAGS)')
      .option('--ldflags <flags>', 'LDFLAGS', '-Wl,-O1 -Wl,--as-needed')
      .option('--chost <chost>', 'CHOST', DEFAULT_CHOST)
      .option('--arch <arch>', 'profile arch', 'amd64')
      .option('--repo <name>', 'source repository (default: from the atom, else gentoo)')
      .option('--features <list>', 'output-affecting FEATURES', '')
      .option('--variant <name>', `install variant: full (default), ${Object.keys(VARIANTS).join(', ')} (an INSTALL_MASK preset; see README)`)
      .option('--install-mask <paths>', 'an explicit INSTALL_MASK instead of a --variant preset')
      .option('--json', 'print JSON')
      .addHelpText('after', '\nExample:\n  binswarm request =app-misc/hello-1.0 --use "nls" --coordinator http://127.0.0.1:7600 --key me.key\n  binswarm request =app-misc/hello-1.0 --variant slim --coordinator http://127.0.0.1:7600 --key me.key')
      .action(async (atom: string, o: { coordinator: string; key: string; use: string; cflags: string; cxxflags?: string; ldflags: string; chost: string; arch: string; repo?: string; features: string; variant?: string; installMask?: string; json?: boolean }) => {
        const t = requestTarget(atom);
        if (o.variant !== undefined && o.installMask !== undefined) throw new BinswarmError('BAD_USAGE', 'give --variant or --install-mask, not both');
        const installMask = o.installMask !== undefined ? words(o.installMask).join(' ') : installMaskOfVariant(o.variant ?? '');
        const spec: JobSpec = {
          cpv: t.cpv, repo: o.repo ?? t.repo ?? 'gentoo', chost: o.chost, arch: o.arch, use: [...new Set(words(o.use))].sort(), cflags: o.cflags, cxxflags: o.cxxflags ?? o.cflags,
          ldflags: o.ldflags, features: [...new Set(words(o.features))].sort(), installMask,
        };
        if (spec.use.some((f) => f.startsWith('-'))) throw new BinswarmError('BAD_USAGE', '--use lists the enabled flags only (no -flag)');
        const reply = await new CoordinatorClient(o.coordinator, await readPrivateKey(o.key)).submitRequest(spec);
        if (o.json) printJson({ spec, ...reply });
        else if (reply.jobId) console.log(`requested ${spec.cpv} USE="${spec.use.join(' ')}"${installMask ? ` INSTALL_MASK="${installMask}"` : ''}: build job ${reply.jobId}${reply.configKey ? ` (configKey ${reply.configKey})` : ''}`);
        else console.log(`requested ${spec.cpv} USE="${spec.use.join(' ')}": already attested${reply.configKey ? ` (configKey ${reply.configKey})` : ''}; your demand is counted`);
      });
  },
};

export default command;
