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

/** Run one load test; `tool` is 'wrk' or 'autocannon'. */
export function runLoad(tool, opts) {
  return tool === 'wrk' ? runWrk(opts) : runAutocannon(opts);
}
