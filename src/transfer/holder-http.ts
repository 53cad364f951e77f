/** A holder's URLs in the blob layout, Range requests to it, and small side files (piece list, bitmap) fetched with a size cap. */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export const blobUrl = (base: string, hex: string) => `${base.replace(/\/+$/, '')}/blobs/sha256/${hex.slice(0, 2)}/${hex}`;

/** GET a small side file (piece list, bitmap) with a timeout; undefined on 404 or any failure. */
export async function getBytes(url: string, signal: AbortSignal | undefined, timeoutMs: number, max: number): Promise<Buffer | undefined> {
  try {
    const s = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    const res = await fetch(url, { signal: s });
    if (!res.ok) {
      await res.body?.cancel();
      return undefined;
    }
    const len = Number(res.headers.get('content-length') ?? 0);
    if (len > max) {
      await res.body?.cancel();
      return undefined;
    }
    const buf = Buffer.from(await res.arrayBuffer());
    return buf.length <= max ? buf : undefined;
  } catch {
    signal?.throwIfAborted();
    return undefined;
  }
}


/** node:http rather than fetch() for piece data: plain Buffers, no web-stream layer, one keep-alive pool per download. */
export class RangeClient {
  private readonly agent: HttpAgent;
  private readonly tlsAgent: HttpsAgent;

  constructor(socketsPerHost: number) {
    this.agent = new HttpAgent({ keepAlive: true, maxSockets: socketsPerHost });
    this.tlsAgent = new HttpsAgent({ keepAlive: true, maxSockets: socketsPerHost });
  }

  get(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const tls = u.protocol === 'https:';
      const req = (tls ? httpsRequest : httpRequest)(u, { headers, agent: tls ? this.tlsAgent : this.agent, signal }, resolve);
      req.on('error', reject);
      req.end();
    });
  }

  destroy(): void {
    this.agent.destroy();
    this.tlsAgent.destroy();
  }
}
