/**
 * INSTALL_MASK: the variant presets and Portage's matching rules (a port of
 * portage/util/install_mask.py's InstallMask.match, so a builder's image is
 * masked exactly as emerge would mask it). installMask is part of the build
 * configuration (configKey and buildKey), so a slim build is its own
 * configuration: attested, verified and served like any other.
 */
import { BinswarmError } from '../errors.js';

export type InstallMaskErrorCode = 'BAD_VARIANT';

/**
 * Variant presets, as exact INSTALL_MASK values (README lists them).
 * `slim`: documentation, man and info pages, headers, static libraries and
 * libtool archives. `nodoc`: documentation only.
 */
export const VARIANTS: Readonly<Record<string, string>> = {
  slim: '/usr/share/doc /usr/share/gtk-doc /usr/share/man /usr/share/info /usr/include *.a *.la',
  nodoc: '/usr/share/doc /usr/share/gtk-doc',
};

/** The INSTALL_MASK of a variant name ('' or 'full': none). */
export function installMaskOfVariant(name: string): string {
  if (name === '' || name === 'full') return '';
  const m = VARIANTS[name];
  if (m === undefined) throw new BinswarmError<InstallMaskErrorCode>('BAD_VARIANT', `unknown variant "${name}" (known: full, ${Object.keys(VARIANTS).join(', ')})`);
  return m;
}

/** The variant name of an INSTALL_MASK value: 'full' when empty, the preset's name, or 'custom'. */
export function variantOfInstallMask(mask: string): string {
  const norm = mask.trim().split(/\s+/).filter(Boolean).join(' ');
  if (norm === '') return 'full';
  return Object.entries(VARIANTS).find(([, v]) => v === norm)?.[0] ?? 'custom';
}

/** Python's fnmatch.fnmatch (case-sensitive, POSIX): `*` also matches `/`. */
function fnmatch(name: string, pattern: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^(?:${re})$`, 's').test(name);
}

/**
 * Does `path` (relative to ${ED}, no leading slash; a trailing slash marks a
 * directory) match `mask`? Anchored patterns match the path or one of its
 * parent directories; others match the basename; `-pattern` un-masks; the
 * last matching pattern wins (Portage's order).
 */
export function installMaskMatch(mask: string, path: string): boolean {
  let ret = false;
  for (let pattern of mask.split(/\s+/).filter(Boolean)) {
    const inclusive = !pattern.startsWith('-');
    if (!inclusive) pattern = pattern.slice(1);
    if (pattern.startsWith('/')) {
      if (path.endsWith('/')) pattern = `${pattern.replace(/\/+$/, '')}/`;
      if (fnmatch(path, pattern.slice(1)) || fnmatch(path, `${pattern.slice(1).replace(/\/+$/, '')}/*`)) ret = inclusive;
    } else if (fnmatch(path.replace(/\/+$/, '').split('/').pop() ?? '', pattern)) ret = inclusive;
  }
  return ret;
}
