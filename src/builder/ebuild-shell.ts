/**
 * Runs an ebuild's `src_*` phases in bash for the example backend: a clean
 * environment (nothing of the builder's own leaks into the build), a fixed
 * locale, time zone, umask and SOURCE_DATE_EPOCH, and the handful of PMS
 * helpers the example ebuilds use. Not a Portage replacement: just enough
 * for ordinary EAPI 8 ebuilds that compile C and install files.
 */
import { spawn } from 'node:child_process';
import { buildFailed, cancelled } from './backend.js';

/** The fixed build time every example build sees (2026-01-01T00:00:00Z). */
export const SOURCE_DATE_EPOCH = 1767225600;

// `${` is escaped as `\${` in these bash scripts (template literals would interpolate it) and unescaped once.
const PRELUDE = String.raw`
set -o pipefail
umask 022
die() { echo "die: $*" >&2; exit 1; }
einfo() { echo " * $*" >&2; }
ewarn() { echo " * WARNING: $*" >&2; }
use() {
	local f=$1 want=0
	[[ $f == '!'* ]] && { f=\${f#!}; want=1; }
	[[ " \${USE} " == *" \${f} "* ]] && return $want
	return $((1 - want))
}
usex() { if use "$1"; then echo "\${2-yes}"; else echo "\${3-no}"; fi; }
get_libdir() { echo "\${LIBDIR:-lib64}"; }
__ins() { # mode destdir files…
	local mode=$1 dest=$2; shift 2
	mkdir -p "\${ED%/}\${dest}" || die "mkdir \${dest}"
	install -m "\${mode}" "$@" "\${ED%/}\${dest}/" || die "install into \${dest}"
}
dobin() { __ins 0755 /usr/bin "$@"; }
dosbin() { __ins 0755 /usr/sbin "$@"; }
dolib.so() { __ins 0755 "/usr/$(get_libdir)" "$@"; }
dolib.a() { __ins 0644 "/usr/$(get_libdir)" "$@"; }
doheader() { __ins 0644 /usr/include "$@"; }
dodoc() { __ins 0644 "/usr/share/doc/\${PF}" "$@"; }
doman() { local f; for f in "$@"; do __ins 0644 "/usr/share/man/man\${f##*.}" "$f"; done; }
insinto() { INSDESTTREE=$1; }
doins() { __ins 0644 "\${INSDESTTREE:-/}" "$@"; }
dodir() { local d; for d in "$@"; do mkdir -p "\${ED%/}\${d}" || die; done; }
# Absolute targets point into BINSWARM_SYMLINK_ROOT when set: a dependency
# installed into a build sysroot must link to the sysroot, not to the host.
dosym() {
	local target=$1
	[[ \${target} == /* ]] && target="\${BINSWARM_SYMLINK_ROOT%/}\${target}"
	mkdir -p "$(dirname "\${ED%/}$2")" || die
	ln -snf "\${target}" "\${ED%/}$2" || die "dosym $2"
}
`.replace(/\\\$\{/g, '${');

const PHASES = String.raw`
source "\${EBUILD}" || die "cannot source the ebuild"
mkdir -p "\${WORKDIR}" "\${T}" "\${D}" || die
cd "\${WORKDIR}" || die
if declare -F src_unpack >/dev/null; then src_unpack; fi
cd "\${S}" 2>/dev/null || cd "\${WORKDIR}" || die
for phase in src_prepare src_configure src_compile src_test src_install; do
	[[ \${phase} == src_test ]] && continue
	if declare -F \${phase} >/dev/null; then \${phase} || die "\${phase} failed"; fi
done
`.replace(/\\\$\{/g, '${');

/** Environment every bash run starts from (and nothing else). */
function baseEnv(): Record<string, string> {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', LC_ALL: 'C', LANG: 'C', TZ: 'UTC', SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH), HOME: '/nonexistent' };
}

export interface BashOptions {
  signal?: AbortSignal;
  cwd?: string;
  onLog?: (line: string) => void;
}

/** Runs a bash script in a clean environment; resolves with its stdout, rejects with the tail of stderr. */
export function runBash(script: string, env: Record<string, string>, opts: BashOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(cancelled(opts.signal));
    const child = spawn('bash', ['--norc', '--noprofile', '-c', PRELUDE + script], {
      env: { ...baseEnv(), ...env },
      cwd: opts.cwd ?? '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: cancelling kills the compiler too
    });
    const out: Buffer[] = [];
    let tail = '';
    let partial = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      tail = (tail + d).slice(-4000);
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const l of lines) opts.onLog?.(l);
    });
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    opts.signal?.addEventListener('abort', kill, { once: true });
    child.on('error', (e) => reject(buildFailed(`cannot run bash: ${e.message}`, e)));
    child.on('close', (code, sig) => {
      opts.signal?.removeEventListener('abort', kill);
      if (opts.signal?.aborted) return reject(cancelled(opts.signal));
      if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
      reject(buildFailed(`build script ${sig ? `killed by ${sig}` : `exited ${code}`}: ${tail.trim().split('\n').slice(-8).join(' | ')}`));
    });
  });
}

/** Runs src_unpack … src_install of `ebuild` with the given package variables (D, ED, WORKDIR, S, USE, CFLAGS, …). */
export async function runPhases(ebuild: string, vars: Record<string, string>, opts: BashOptions = {}): Promise<void> {
  await runBash(PHASES, { ...vars, EBUILD: ebuild }, opts);
}
