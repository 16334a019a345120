// The script floor: how many times per second child_process.spawn can start
// a script, feed it the request body and read its output, with CONCURRENCY
// spawns in flight. Run pinned to the server core; prints one JSON line.
// Usage: node spawn-floor.mjs OPTIONS.json  ({argv, cwd, body (base64), expect (base64), concurrency, seconds})
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const opts = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const body = Buffer.from(opts.body, 'base64');
const expect = Buffer.from(opts.expect, 'base64');
const env = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  GATEWAY_INTERFACE: 'CGI/1.1',
  REQUEST_METHOD: 'POST',
  CONTENT_LENGTH: String(body.length),
  CONTENT_TYPE: 'application/octet-stream',
  SERVER_PROTOCOL: 'HTTP/1.1',
};

function once() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(opts.argv[0], opts.argv.slice(1), { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stdin.on('error', () => {});
    child.stdin.end(body);
    child.on('error', () => resolve({ ok: false, ms: performance.now() - t0 }));
    child.on('close', (code) => {
      const out = Buffer.concat(chunks);
      resolve({ ok: code === 0 && out.subarray(out.length - expect.length).equals(expect), ms: performance.now() - t0 });
    });
  });
}

const deadline = performance.now() + opts.seconds * 1000;
const latencies = [];
let errors = 0;
async function worker() {
  while (performance.now() < deadline) {
    const r = await once();
    if (r.ok) latencies.push(r.ms);
    else errors++;
  }
}
const start = performance.now();
const cpu0 = process.cpuUsage();
await Promise.all(Array.from({ length: opts.concurrency }, worker));
const seconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpu0);
// This Node process's own CPU per spawn (its children's is theirs): what child_process.spawn costs Node at the least.
const nodeMs = (cpu.user + cpu.system) / 1000 / Math.max(1, latencies.length + errors);
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] : NaN);
process.stdout.write(
  `${JSON.stringify({ requests: latencies.length, seconds, rps: latencies.length / seconds, p50: pct(50), p99: pct(99), errors, nodeMs })}\n`,
);
