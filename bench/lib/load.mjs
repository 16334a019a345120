// Load generators: wrk when installed (cheaper per request, so it measures
// the server rather than itself), else autocannon. Both run pinned to the
// load core and report the same normalized result.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinned, runCaptured } from './proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** A Lua string literal (the values are ASCII: ETags, dates, our bodies). */
function luaString(s) {
  return `"${s.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

function wrkScript(path, { method, headers, body }) {
  const lines = [`wrk.method = ${luaString(method)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(String(v))}`);
  if (body) {
    // A body of one repeated pattern stays small in the script.
    const unit = body.subarray(0, 16).toString('latin1');
    if (body.length % 16 !== 0 || !body.equals(Buffer.from(unit.repeat(body.length / 16), 'latin1'))) {
      lines.push(`wrk.body = ${luaString(body.toString('latin1'))}`);
    } else {
      lines.push(`wrk.body = string.rep(${luaString(unit)}, ${body.length / 16})`);
    }
  }
  lines.push(`done = function(s, latency, requests)
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',
    s.requests, s.duration, s.bytes, s.errors.connect, s.errors.read, s.errors.write, s.errors.status, s.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end`);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

async function runWrk({ url, connections, seconds, cpu, request, scriptPath, expectStatus, closeDelimited }) {
  wrkScript(scriptPath, request);
  const argv = pinned(cpu, ['wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', scriptPath, url]);
  const { stdout } = await runCaptured(argv, { timeoutMs: (seconds + 30) * 1000 });
  const line = /^WRKJSON (.*)$/m.exec(stdout);
  if (!line) throw new Error(`wrk printed no result: ${stdout.slice(-400)}`);
  const r = JSON.parse(line[1]);
  const secs = r.duration_us / 1e6;
  // wrk counts every status >= 400 as an error; for the 404 scenario that is the expected answer.
  const statusErrors = expectStatus >= 400 ? Math.max(0, r.requests - r.status) : r.status;
  // wrk completes an answer that ends at connection close, then also counts a read error for it.
  const read = closeDelimited ? Math.max(0, r.read - r.requests) : r.read;
  // Only answers with the expected status count as requests served.
  return {
    requests: r.requests,
    seconds: secs,
    rps: (r.requests - statusErrors) / secs,
    mbps: r.bytes / secs / 1e6,
    p50: r.p50_us / 1000,
    p99: r.p99_us / 1000,
    errors: r.connect + read + r.write + r.timeout + statusErrors,
  };
}

async function runAutocannon({ url, connections, seconds, cpu, request, expectStatus }) {
  const opts = {
    url,
    connections,
    duration: seconds,
    method: request.method,
    headers: request.headers,
    body: request.body ? request.body.toString('base64') : undefined,
    expectStatus,
  };
  const argv = pinned(cpu, [process.execPath, join(here, '..', 'autocannon-worker.mjs'), JSON.stringify(opts)]);
  const { stdout } = await runCaptured(argv, { timeoutMs: (seconds + 30) * 1000 });
  const line = /^ACJSON (.*)$/m.exec(stdout);
  if (!line) throw new Error(`autocannon printed no result: ${stdout.slice(-400)}`);
  return JSON.parse(line[1]);
}

/**
 * HTTP/2 load with h2load (nghttp2-client): one stream at a time per
 * connection (-m 1), so a request costs what it costs a browser's lone
 * request, comparable with wrk's keep-alive rows. h2load reports no
 * percentiles in a parseable form; p50/p99 stay unmeasured.
 */
async function runH2load({ url, connections, seconds, cpu, request, expectStatus }) {
  if (request.method !== 'GET' || request.body) throw new Error('the h2load runner sends GETs without a body only');
  const headers = Object.entries(request.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
  const argv = pinned(cpu, ['h2load', '-t1', `-c${connections}`, '-m1', `-D${seconds}`, ...headers, url]);
  const { stdout } = await runCaptured(argv, { timeoutMs: (seconds + 30) * 1000 });
  const finished = /finished in ([\d.]+)s, ([\d.]+) req\/s, ([\d.]+)([KMG]?)B\/s/.exec(stdout);
  const counts = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  if (!finished || !counts || !codes) throw new Error(`h2load printed no result: ${stdout.slice(-400)}`);
  const secs = Number(finished[1]);
  const done = Number(counts[2]);
  const ok = Number(codes[Math.floor(expectStatus / 100) - 1] ?? 0);
  const scale = { '': 1, K: 1e3, M: 1e6, G: 1e9 }[finished[4]];
  return {
    requests: done,
    seconds: secs,
    rps: ok / secs,
    mbps: (Number(finished[3]) * scale) / 1e6,
    p50: NaN,
    p99: NaN,
    errors: Number(counts[4]) + Number(counts[5]) + Number(counts[6]) + Math.max(0, done - ok),
  };
}

/** Run one load test; `tool` is 'wrk', 'autocannon' or (HTTP/2) 'h2load'. */
export function runLoad(tool, opts) {
  if (tool === 'h2load') return runH2load(opts);
  return tool === 'wrk' ? runWrk(opts) : runAutocannon(opts);
}
