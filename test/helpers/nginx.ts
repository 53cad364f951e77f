/** A real nginx serving a directory as static files, for tests and benchmarks (nginx is a Debian package in .ci/run). */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './env.js';

const NGINX = ['/usr/sbin/nginx', 'nginx'].find((p) => spawnSync(p, ['-v'], { stdio: 'ignore' }).error === undefined);
export const hasNginx = NGINX !== undefined;

/**
 * Serves `root` (as the current user: temp dirs are private) at
 * http://127.0.0.1:PORT/ until `stop()`; `workDir` holds its config, pid and
 * logs. Tiles get the cache headers of C2SP tlog-tiles; `rate` caps each
 * download under /blobs/ (a slow holder of the blob layout).
 */
export async function startNginx(root: string, workDir: string, opts: { workers?: number; rate?: string } = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  if (!NGINX) throw new Error('nginx is not installed');
  mkdirSync(join(workDir, 'tmp'), { recursive: true });
  const port = await freePort();
  const conf = join(workDir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes ${opts.workers ?? 1};
pid ${join(workDir, 'nginx.pid')};
error_log ${join(workDir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(workDir, 'tmp')};
  proxy_temp_path ${join(workDir, 'tmp')};
  fastcgi_temp_path ${join(workDir, 'tmp')};
  uwsgi_temp_path ${join(workDir, 'tmp')};
  scgi_temp_path ${join(workDir, 'tmp')};
  default_type application/octet-stream;
  sendfile on;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location /tile/ { add_header Cache-Control "public, max-age=31536000, immutable"; }
    location = /checkpoint { add_header Cache-Control "no-cache"; }
    location /blobs/ { ${opts.rate ? `limit_rate ${opts.rate};` : ''} }
  }
}
`,
  );
  const proc = spawn(NGINX, ['-c', conf, '-p', workDir, '-e', join(workDir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${err}`);
    const ok = await fetch(`${url}/`).then(() => true, () => false);
    if (ok) break;
    if (i > 100) throw new Error(`nginx did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () =>
    new Promise<void>((r) => {
      if (proc.exitCode !== null) return r();
      proc.once('exit', () => r());
      proc.kill('SIGQUIT');
      setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
    });
  return { url, stop };
}
