/**
 * What a build backend is: something that turns one job's configuration
 * into one binary package, or says why it cannot. Backends are swappable
 * (STYLE.md "policies are swappable pieces"): `example` compiles the bundled
 * example repository with the system compiler, `portage` runs the real
 * Portage. The job loop (job-loop.ts) does everything else — leases,
 * heartbeats, inspection, attestation, publication — the same way for all.
 */
import type { JobSpec } from '../api/v1.js';
import { BinswarmError } from '../errors.js';

export type { JobSpec };

export type BuilderErrorCode =
  /** The backend cannot honour the configuration (unknown package, USE flag not in IUSE, ebuild digest mismatch…): never a wrong build. */
  | 'BUILD_REFUSED'
  /** The build ran and failed (compiler error, missing tool, …). */
  | 'BUILD_FAILED'
  /** The lease was lost or the builder is stopping. */
  | 'BUILD_CANCELLED'
  /** The backend cannot run on this machine (no compiler, no command). */
  | 'BACKEND_UNAVAILABLE';

export interface BuildRequest {
  spec: JobSpec;
  /** An empty directory this build owns; removed by the caller afterwards. */
  workDir: string;
  /** Cancels the build (lease lost, builder stopping): the backend kills what it started. */
  signal: AbortSignal;
  /** One line of build output at a time (for progress and the failure reason). */
  onLog?: (line: string) => void;
}

export interface BuildOutput {
  /** The built `.gpkg.tar`, inside workDir. */
  path: string;
}

export interface BuildBackend {
  /** Name the coordinator knows the backend by (`example`, `portage`). */
  readonly name: string;
  /** CHOST this backend builds for. */
  readonly chost: string;
  build(req: BuildRequest): Promise<BuildOutput>;
}

export function refuse(message: string, subject?: string): BinswarmError<BuilderErrorCode> {
  return new BinswarmError<BuilderErrorCode>('BUILD_REFUSED', message, { subject });
}

export function buildFailed(message: string, cause?: unknown): BinswarmError<BuilderErrorCode> {
  return new BinswarmError<BuilderErrorCode>('BUILD_FAILED', message, { cause });
}

export function cancelled(signal: AbortSignal): BinswarmError<BuilderErrorCode> {
  const why = signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'cancelled');
  return new BinswarmError<BuilderErrorCode>('BUILD_CANCELLED', `build cancelled: ${why}`);
}

export function unavailable(message: string): BinswarmError<BuilderErrorCode> {
  return new BinswarmError<BuilderErrorCode>('BACKEND_UNAVAILABLE', message);
}
