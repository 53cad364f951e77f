/**
 * Compression as Portage does it: by piping through the `zstd`, `xz` and
 * `bzip2` programs (always present on a Gentoo system, since Portage needs
 * them) and node:zlib for gzip. Node 20 has no zstd in zlib, and the npm
 * bindings either download prebuilt binaries or lag behind the C tool, so a
 * child process is the dependable choice; it also puts (de)compression on
 * the second core for free.
 */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { createGunzip, createGzip, constants as zc } from 'node:zlib';
import { BinswarmError } from '../errors.js';

export type CompressionErrorCode = 'UNSUPPORTED_COMPRESSION' | 'CORRUPT_COMPRESSION' | 'COMPRESSOR_MISSING';

/** Compressions binswarm reads and writes. */
export type Compression = 'zstd' | 'xz' | 'gzip' | 'bzip2' | 'none';

/** Portage's suffixes (`metadata.tar.<suffix>`), including ones we name but do not support. */
const SUFFIXES: Record<string, string> = {
  zst: 'zstd',
  xz: 'xz',
  gz: 'gzip',
  bz2: 'bzip2',
  lz4: 'lz4',
  lz: 'lzip',
  lzo: 'lzop',
};

export function isSupported(name: string): name is Compression {
  return name === 'zstd' || name === 'xz' || name === 'gzip' || name === 'bzip2' || name === 'none';
}

/** `image.tar.zst` → 'zstd'; `image.tar` → 'none'; unknown suffix → the suffix itself. */
export function compressionFromName(fileName: string): string {
  const m = /\.tar(?:\.([A-Za-z0-9]+))?$/.exec(fileName);
  if (!m) return 'unknown';
  if (m[1] === undefined) return 'none';
  return SUFFIXES[m[1]] ?? m[1];
}

export function suffixFor(c: Compression): string {
  switch (c) {
    case 'zstd':
      return '.zst';
    case 'xz':
      return '.xz';
    case 'gzip':
      return '.gz';
    case 'bzip2':
      return '.bz2';
    case 'none':
      return '';
  }
}

/** Identify a compressed stream by its first bytes (Portage's suffix can lie). */
export function sniffCompression(head: Uint8Array): string | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 4 && b.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
  if (b.length >= 3 && b.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (b.length >= 4 && b.readUInt32LE(0) === 0x184d2204) return 'lz4';
  if (b.length >= 4 && b.subarray(0, 4).toString('latin1') === 'LZIP') return 'lzip';
  if (b.length >= 4 && b[0] === 0x89 && b.subarray(1, 4).toString('latin1') === 'LZO') return 'lzop';
  if (b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar') return 'none';
  return undefined;
}

export function assertSupported(name: string, subject?: string): asserts name is Compression {
  if (!isSupported(name)) {
    throw new BinswarmError<CompressionErrorCode>('UNSUPPORTED_COMPRESSION', `unsupported compression ${name}`, { subject });
  }
}

/**
 * A Duplex over a filter program. Output ends only after the program exits
 * 0, so a truncated or corrupt input surfaces as an error on the readable
 * side instead of a silently short stream.
 */
function programFilter(program: string, args: string[], what: string): Duplex {
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let spawnError: NodeJS.ErrnoException | undefined;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 2000) stderr += d;
  });
  // The program may exit early on bad input; its exit status tells why, so EPIPE here is noise.
  child.stdin.on('error', () => {});

  // Buffers of 1 MiB, not the 16 KiB default: with small ones the child's
  // stdout is paused after every 64 KiB pipe read and the program stalls.
  const duplex = new Duplex({
    readableHighWaterMark: 1 << 20,
    writableHighWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      if (child.stdin.destroyed) return cb();
      if (child.stdin.write(chunk)) cb();
      else child.stdin.once('drain', () => cb());
    },
    final(cb) {
      child.stdin.end(cb);
    },
    read() {
      child.stdout.resume();
    },
    destroy(err, cb) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      cb(err);
    },
  });
  child.stdout.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) child.stdout.pause();
  });
  child.on('error', (e: NodeJS.ErrnoException) => {
    spawnError = e;
  });
  child.on('close', (code, signal) => {
    if (duplex.destroyed) return;
    if (spawnError) {
      const missing = spawnError.code === 'ENOENT';
      duplex.destroy(
        new BinswarmError<CompressionErrorCode>(
          missing ? 'COMPRESSOR_MISSING' : 'CORRUPT_COMPRESSION',
          missing ? `the '${program}' program is needed for ${what} but was not found` : `${program}: ${spawnError.message}`,
          { cause: spawnError },
        ),
      );
    } else if (code === 0) duplex.push(null);
    else {
      const why = stderr.trim().split('\n').filter(Boolean).pop();
      duplex.destroy(new BinswarmError<CompressionErrorCode>('CORRUPT_COMPRESSION', `${what} failed: ${why || `exit ${code ?? signal}`}`));
    }
  });
  return duplex;
}

function zlibErrors(stream: Duplex, what: string): Duplex {
  const out = new Duplex({
    write(chunk, enc, cb) {
      stream.write(chunk, enc, cb);
    },
    final(cb) {
      stream.end(cb);
    },
    read() {
      stream.resume();
    },
    destroy(err, cb) {
      stream.destroy();
      cb(err);
    },
  });
  stream.on('data', (c: Buffer) => {
    if (!out.push(c)) stream.pause();
  });
  stream.on('end', () => out.push(null));
  stream.on('error', (e) =>
    out.destroy(new BinswarmError<CompressionErrorCode>('CORRUPT_COMPRESSION', `${what} failed: ${e.message}`, { cause: e })),
  );
  return out;
}

/** A Duplex that decompresses `c`. Errors are BinswarmError CORRUPT_COMPRESSION. */
export function decompressor(c: Compression): Duplex {
  switch (c) {
    case 'zstd':
      return programFilter('zstd', ['-d', '-c', '-q'], 'zstd decompression');
    case 'xz':
      return programFilter('xz', ['-d', '-c', '-q'], 'xz decompression');
    case 'bzip2':
      return programFilter('bzip2', ['-d', '-c'], 'bzip2 decompression');
    case 'gzip':
      return zlibErrors(createGunzip(), 'gzip decompression');
    case 'none':
      return new Duplex({
        write(chunk, _e, cb) {
          this.push(chunk);
          cb();
        },
        final(cb) {
          this.push(null);
          cb();
        },
        read() {},
      });
  }
}

/**
 * A Duplex that compresses deterministically: the same input bytes give the
 * same output bytes on every run (single-threaded, no names or timestamps).
 */
export function compressor(c: Compression, level?: number): Duplex {
  switch (c) {
    case 'zstd':
      return programFilter('zstd', ['-c', '-q', '-T1', `-${level ?? 3}`], 'zstd compression');
    case 'xz':
      return programFilter('xz', ['-c', '-q', '-T1', `-${level ?? 6}`], 'xz compression');
    case 'bzip2':
      return programFilter('bzip2', ['-c', '-q', `-${level ?? 9}`], 'bzip2 compression');
    case 'gzip':
      return zlibErrors(createGzip({ level: level ?? zc.Z_BEST_COMPRESSION }), 'gzip compression');
    case 'none':
      return decompressor('none');
  }
}
