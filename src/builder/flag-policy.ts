/**
 * Which compiler and linker flags a builder accepts from a job. Jobs come
 * from anyone's census or request, and a compiler flag can run code or read
 * files on the builder: `-wrapper sh,-c,…` runs a command, `-fplugin=`,
 * `-B` and `-specs=` load code, `@file`, `-include`, `-imacros` and `-I`
 * read arbitrary files into the output, `-fprofile-*=` and `-save-temps`
 * write files. So flags are allow-listed by shape: optimisation, target,
 * debug info, code generation switches, warnings, plain macros, and a
 * short list of linker options. Everything else refuses the job (it is
 * not built wrong, and not built at all).
 */

/** Code-generation switches that take a path or load/execute something. */
const DENIED_F = /^-f(?:plugin|profile|auto-profile|dump|callgraph-info|debug-prefix-map|file-prefix-map|macro-prefix-map|record-gcc-switches=|stack-usage|opt-info|diagnostics-.*file|save-optimization-record|lto-.*=|sanitize-coverage-.*file|ltrans|wpa|linker-output|use-ld=(?!(?:bfd|gold|lld|mold)$)|use-linker-plugin|coverage|test-coverage|branch-probabilities|spec|debug-types-section=)/;

const COMPILER: RegExp[] = [
  /^-O(?:[0-3sgz]|fast)?$/,
  /^-pipe$/,
  /^-g(?:gdb[0-3]?|dwarf(?:-[2-5])?|[0-3]|split-dwarf|z(?:=(?:none|zlib|zstd))?|column-info|no-column-info|record-gcc-switches|no-record-gcc-switches)?$/,
  /^-m(?:arch|tune|cpu|fpu|abi|float-abi|branch-protection|fpmath|cmodel|tls-dialect)=[A-Za-z0-9_.+-]+$/,
  /^-m(?:no-)?[a-z0-9][a-z0-9.-]*$/,
  /^-f(?:no-)?[a-z0-9][a-z0-9-]*(?:=[A-Za-z0-9_.,+-]+)?$/,
  /^-W(?:no-)?[a-z0-9][a-z0-9+=-]*$/,
  /^-D[A-Za-z_][A-Za-z0-9_]*(?:=[A-Za-z0-9_.-]*)?$/,
  /^-U[A-Za-z_][A-Za-z0-9_]*$/,
  /^-std=[a-z0-9+]+$/,
  /^-(?:pie|no-pie|fPIC|fPIE|fpic|fpie|pthread|s|shared-libgcc|static-libgcc|static-libstdc\+\+|rdynamic)$/,
];

const LINKER: RegExp[] = [
  /^-O[0-9]$/,
  /^--(?:no-)?as-needed$/,
  /^--hash-style=(?:gnu|sysv|both)$/,
  /^--(?:sort-common|gc-sections|no-undefined|enable-new-dtags|disable-new-dtags|icf=(?:all|safe|none)|build-id(?:=(?:sha1|md5|none|fast))?|compress-debug-sections=(?:none|zlib|zstd)|sort-section=(?:name|alignment)|fatal-warnings|relax|pack-dyn-relocs=(?:none|relr))$/,
  /^-z$/,
  /^(?:now|relro|norelro|lazy|noexecstack|execstack|combreloc|pack-relative-relocs|separate-code|noseparate-code|text|defs)$/,
];

function linkerOk(flag: string): boolean {
  return flag.slice('-Wl,'.length).split(',').every((part) => LINKER.some((re) => re.test(part)));
}

function flagOk(flag: string): boolean {
  if (flag.startsWith('-Wl,')) return linkerOk(flag);
  // -Wa,/-Wp, pass arbitrary options to the assembler/preprocessor.
  if (/^-W[ap],/.test(flag)) return false;
  if (DENIED_F.test(flag)) return false;
  return COMPILER.some((re) => re.test(flag));
}

/** The first flag of CFLAGS/CXXFLAGS/LDFLAGS a builder will not pass to its compiler, or undefined. */
export function unsafeFlag(flags: { cflags: string; cxxflags: string; ldflags: string }): { variable: string; flag: string } | undefined {
  for (const [variable, value] of [['CFLAGS', flags.cflags], ['CXXFLAGS', flags.cxxflags], ['LDFLAGS', flags.ldflags]] as const) {
    for (const flag of value.split(/[ \t]+/).filter(Boolean)) {
      if (!flagOk(flag)) return { variable, flag };
    }
  }
  return undefined;
}
