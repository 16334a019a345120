// Rolling restarts behind real nginx, many of them, for bench/NOTES.md
// ("Listener close"): 2 instances behind nginx (the balancer test's upstream
// settings), 8 keep-alive clients posting to a /bin/sh echo CGI, instance A
// stopped (SIGTERM) and started again N times. Prints requests, failures
// (with nginx's error lines), and how many took over 0.9 s (a SYN dropped by
// the sealed listener and retransmitted). Not part of `npm run bench`.
//
// Usage: npm run build && node bench/listener-close.mjs [restarts=30] [drain-delay=0.3]
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCli, tempDir, writeTree } from '../test/helpers.mjs';

const RESTARTS = Number(process.argv[2] ?? 30);
const DRAIN_S = process.argv[3] ?? '0.3';
const CLIENTS = 8;

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const root = tempDir('scriptserve-listener-close-');
writeTree(root, { 'cgi-bin/echo.sh': { content: "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nbody='\nhead -c \"$CONTENT_LENGTH\"\n", mode: 0o755 } });
const [front, portA, portB] = [await freePort(), await freePort(), await freePort()];
const work = tempDir('scriptserve-listener-close-nginx-');
for (const dir of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(work, dir));
writeFileSync(join(work, 'nginx.conf'), `daemon off; worker_processes 1; user root; pid ${work}/nginx.pid; error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${work}/body; proxy_temp_path ${work}/proxy; fastcgi_temp_path ${work}/fastcgi; uwsgi_temp_path ${work}/uwsgi; scgi_temp_path ${work}/scgi;
  upstream app { server 127.0.0.1:${portA} max_fails=1 fail_timeout=1s; server 127.0.0.1:${portB} max_fails=1 fail_timeout=1s; keepalive 32; keepalive_timeout 1s; }
  server {
    listen 127.0.0.1:${front};
    location / {
      proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $http_host;
      proxy_next_upstream error timeout; proxy_next_upstream_tries 3; proxy_buffering off;
    }
  }
}
`);
const args = (port) => ['-d', root, '-p', String(port), '--health', '/healthz', '--drain-delay', DRAIN_S, '--shutdown-grace', '10'];
let a = await startCli(args(portA));
const b = await startCli(args(portB));
const nginx = spawn('/usr/sbin/nginx', ['-p', work, '-c', join(work, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
let nginxSaid = '';
nginx.stderr.on('data', (d) => (nginxSaid += d));
await sleep(500);

let running = true;
let sent = 0;
const failures = [];
const latencies = [];
const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
const post = (i) => new Promise((resolve) => {
  const body = `n=${i}`;
  const started = performance.now();
  const req = request({ host: '127.0.0.1', port: front, path: '/cgi-bin/echo.sh', method: 'POST', agent, headers: { 'Content-Type': 'text/plain' } }, (res) => {
    let text = '';
    res.on('data', (c) => (text += c));
    res.on('end', () => {
      if (res.statusCode !== 200 || text !== `body=${body}`) failures.push(`#${i}: ${res.statusCode}`);
      latencies.push(performance.now() - started);
      resolve();
    });
  });
  req.on('error', (err) => (failures.push(`#${i}: ${err.message}`), resolve()));
  req.end(body);
});
const load = Promise.all(Array.from({ length: CLIENTS }, async () => {
  while (running) await post(sent++);
}));
for (let n = 0; n < RESTARTS; n++) {
  a.child.kill('SIGTERM');
  await a.exited;
  a = await startCli(args(portA));
  await sleep(200);
}
running = false;
await load;
agent.destroy();
const delayed = latencies.filter((ms) => ms > 900).length;
console.log(`${RESTARTS} restarts, --drain-delay ${DRAIN_S}: ${sent} requests, ${failures.length} failed, ${delayed} over 0.9 s, slowest ${Math.round(Math.max(...latencies))} ms`);
for (const failure of failures) console.log(`  ${failure}`);
const errors = nginxSaid.split('\n').filter((l) => l && !/\(111: Connection refused\)|temporarily disabled|signal|exiting|exit$/.test(l));
if (errors.length > 0) console.log(`nginx said:\n${errors.join('\n')}`);
nginx.kill('SIGTERM');
await Promise.all([a.stop(), b.stop()]);
rmSync(root, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });
