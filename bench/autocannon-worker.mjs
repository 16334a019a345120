// autocannon in its own process, so it can be pinned to the load core.
// Usage: node autocannon-worker.mjs JSON; prints one `ACJSON {...}` line.
import autocannon from 'autocannon';

const opts = JSON.parse(process.argv[2]);
const result = await autocannon({
  url: opts.url,
  connections: opts.connections,
  duration: opts.seconds ?? opts.duration,
  method: opts.method,
  headers: opts.headers,
  body: opts.body ? Buffer.from(opts.body, 'base64') : undefined,
  timeout: 5,
});
const seconds = result.duration;
// autocannon counts statuses outside 2xx apart; they are errors only when not the expected status.
const expected2xx = opts.expectStatus >= 200 && opts.expectStatus < 300;
const statusErrors = expected2xx ? result.non2xx : result.requests.total - (result.statusCodeStats?.[opts.expectStatus]?.count ?? 0);
process.stdout.write(
  `ACJSON ${JSON.stringify({
    requests: result.requests.total,
    seconds,
    rps: (result.requests.total - Math.max(0, statusErrors)) / seconds,
    mbps: result.throughput.total / seconds / 1e6,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + Math.max(0, statusErrors),
  })}\n`,
);
