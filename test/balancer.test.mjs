// Issue 20's proof with the real thing: three scriptserve instances behind
// real nginx, then behind real HAProxy (`option httpchk` on --health), run
// with deploy/nginx.conf and deploy/haproxy.cfg (ports and paths replaced).
// A bounded mixed load (static file, listing, CGI POST with a body, a
// streamed script) goes through the balancer while each instance in turn
// gets SIGTERM and is started again. Checks: zero failed requests (every
// response complete and correct), load on every instance (from their access
// logs), the client address a script sees is the test client's (127.0.0.2,
// through the trusted proxy at 127.0.0.1), and a spoofed X-Forwarded-For sent
// to an instance directly is ignored. The figures go to the test's
// diagnostics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { ROOT_DIR, deadline, needProgram, rmSync, startCli, tempDir, waitFor, writeTree } from './helpers.mjs';

const NGINX = '/usr/sbin/nginx';
const HAPROXY = '/usr/sbin/haproxy';
/** The test client's own loopback address, so that "the client" differs from the proxy (127.0.0.1). */
const CLIENT_ADDRESS = '127.0.0.2';
/** Above HAProxy's check interval here (CHECK_INTERVAL_MS): at least one check sees the 503. */
const DRAIN_DELAY_S = '0.8';
/** HAProxy's check interval in the tests (deploy/haproxy.cfg has 1 s). */
const CHECK_INTERVAL_MS = 200;
const STATIC_BODY = 'hello from behind the balancer\n';
const STREAM_BODY = 'line 1\nline 2\nline 3\nline 4\nline 5\n';

function site() {
  const root = tempDir('scriptserve-balancer-');
  writeTree(root, {
    'index.txt': STATIC_BODY,
    'dir/a.txt': 'a',
    'dir/b.txt': 'b',
    'cgi-bin/echo.sh': {
      content: "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\naddr=%s\\nbody=' \"$REMOTE_ADDR\"\nhead -c \"$CONTENT_LENGTH\"\nprintf '\\n'\n",
      mode: 0o755,
    },
    'cgi-bin/stream.sh': {
      content: "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nfor i in 1 2 3 4 5; do echo \"line $i\"; sleep 0.03; done\n",
      mode: 0o755,
    },
  });
  return root;
}

/** Free loopback ports (bound, then released; the instances take them at once). */
async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** One scriptserve instance on a fixed port, restartable; its access lines survive restarts. */
class Instance {
  constructor(root, port) {
    this.root = root;
    this.port = port;
    this.lines = [];
    this.cli = null;
  }

  async start() {
    this.cli = await startCli([
      '-d', this.root, '-p', String(this.port), '--health', '/healthz', '--trust-proxy', '127.0.0.1',
      '--drain-delay', DRAIN_DELAY_S, '--shutdown-grace', '10',
    ]);
  }

  /** SIGTERM, wait for the exit; resolves the drain's length (signal to exit) in ms. */
  async stop() {
    const cli = this.cli;
    const started = performance.now();
    cli.child.kill('SIGTERM');
    const { code } = await deadline(cli.exited, 15000, `instance ${this.port} exit`);
    const ms = performance.now() - started;
    assert.equal(code, 0, `instance ${this.port} exits 0: ${cli.stderr()}`);
    this.lines.push(...cli.stdout().split('\n').slice(1), ...cli.stderr().split('\n'));
    this.cli = null;
    return ms;
  }

  /** Every line logged, over every life of this instance. */
  logged() {
    return [...this.lines, ...(this.cli ? this.cli.stdout().split('\n').slice(1) : [])];
  }

  /** Requests logged (the health checks are not), over every life of this instance. */
  served() {
    return this.logged().filter((l) => / (GET|POST) \//.test(l)).length;
  }

  async kill() {
    if (this.cli) await this.cli.stop();
  }
}

/** One request; resolves { status, body } or rejects on any transport error. */
function send(port, path, { method = 'GET', body, headers = {}, agent, localAddress = CLIENT_ADDRESS } = {}) {
  return deadline(new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers, agent, localAddress }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
    });
    req.on('error', reject);
    req.end(body);
  }), 20000, `${method} ${path}`);
}

/** The mix: each kind with the check that its response is complete and correct. */
const KINDS = [
  { name: 'static', go: (port, agent) => send(port, '/index.txt', { agent }), ok: (r) => r.status === 200 && r.body === STATIC_BODY },
  { name: 'listing', go: (port, agent) => send(port, '/dir/', { agent }), ok: (r) => r.status === 200 && r.body.includes('a.txt') && r.body.includes('b.txt') },
  {
    name: 'cgi-post',
    go: (port, agent, i) => {
      const payload = `n=${i}&data=${'x'.repeat(i % 700)}`;
      // Every other POST carries a spoofed X-Forwarded-For: the proxy appends the real address after it.
      const headers = { 'Content-Type': 'application/x-www-form-urlencoded', ...(i % 2 ? { 'X-Forwarded-For': '203.0.113.66' } : {}) };
      return send(port, '/cgi-bin/echo.sh', { method: 'POST', body: payload, headers, agent }).then((r) => ({ ...r, want: `addr=${CLIENT_ADDRESS}\nbody=${payload}\n` }));
    },
    ok: (r) => r.status === 200 && r.body === r.want,
  },
  { name: 'stream', go: (port, agent) => send(port, '/cgi-bin/stream.sh', { agent }), ok: (r) => r.status === 200 && r.body === STREAM_BODY },
];

/** Clients in a loop until `done()`; every response is checked. */
async function runLoad(port, done, clients = 4) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const stats = { requests: 0, failures: [] };
  let next = 0;
  const client = async () => {
    while (!done()) {
      const i = next++;
      const kind = KINDS[i % KINDS.length];
      stats.requests++;
      try {
        const res = await kind.go(port, agent, i);
        if (!kind.ok(res)) stats.failures.push(`${kind.name} #${i}: ${res.status} ${JSON.stringify(res.body.slice(0, 120))}`);
      } catch (err) {
        stats.failures.push(`${kind.name} #${i}: ${err.message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  agent.destroy();
  return stats;
}

/** A balancer process from a config file; resolves once it accepts on its port. */
async function startBalancer(argv, port) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const up = await waitFor(async () => {
    if (child.exitCode !== null) return 'exited';
    try {
      const r = await send(port, '/index.txt', { localAddress: CLIENT_ADDRESS });
      return r.status === 200 ? 'up' : false;
    } catch {
      return false;
    }
  }, 10000, 50);
  if (up !== 'up') {
    child.kill('SIGKILL');
    throw new Error(`${argv[0]} did not start: ${output}`);
  }
  return {
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await deadline(exited, 5000, `${argv[0]} exit`);
    },
  };
}

/**
 * Three instances and a balancer in front (`configure(work, front, ports)`
 * returns its command line), a mixed load through it while `scenario(instances)`
 * runs, then the checks: no failed request, a real load, every instance
 * served. Resolves the load's figures; everything is stopped and removed after.
 */
async function underLoad(configure, scenario) {
  const root = site();
  const work = tempDir('scriptserve-balancer-conf-');
  const [front, ...ports] = await freePorts(4);
  const instances = ports.map((port) => new Instance(root, port));
  let balancer;
  try {
    await Promise.all(instances.map((i) => i.start()));
    balancer = await startBalancer(configure(work, front, ports), front);

    let running = true;
    const load = runLoad(front, () => !running);
    // Every instance serves before the scenario begins.
    await waitFor(() => instances.every((i) => i.served() > 0), 10000);
    const figures = await scenario(instances);
    running = false;
    const stats = await load;

    // A spoofed X-Forwarded-For sent to an instance directly (the client is no trusted proxy) is ignored.
    const direct = await send(ports[0], '/cgi-bin/echo.sh', { method: 'POST', body: 'direct', headers: { 'X-Forwarded-For': '203.0.113.66', 'Content-Type': 'text/plain' } });
    assert.equal(direct.body, `addr=${CLIENT_ADDRESS}\nbody=direct\n`);

    const spread = instances.map((i) => i.served());
    // On failure, what the instances logged besides 200s (their side of a reset, say) goes with the balancer's.
    const odd = instances.flatMap((i) => i.logged().filter((l) => l.trim() && !/ (GET|POST) \S+ 200 /.test(l)).map((l) => `${i.port}: ${l}`));
    // nginx logs each refused connection it then retried elsewhere (what a stopped instance causes): not the failure.
    const said = balancer.output().split('\n').filter((l) => !/\(111: Connection refused\)|upstream server temporarily disabled/.test(l));
    assert.deepEqual(stats.failures, [], `${stats.failures.length} of ${stats.requests} requests failed; the balancer said: ${said.join('\n').slice(-3000)}\nthe instances logged: ${odd.slice(-30).join('\n')}`);
    assert.ok(stats.requests >= 40, `a real load: ${stats.requests} requests`);
    for (const [n, served] of spread.entries()) assert.ok(served > 0, `instance ${n + 1} served requests (${spread.join('/')})`);
    return { ...figures, requests: stats.requests, spread, balancerOutput: balancer.output() };
  } finally {
    await balancer?.stop();
    await Promise.all(instances.map((i) => i.kill()));
    rmSync(root, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

/** Each instance in turn is stopped (SIGTERM) and started again, under load, behind one balancer. */
async function rollingRestart(t, configure) {
  const { drains, requests, spread } = await underLoad(configure, async (instances) => {
    const drains = [];
    for (const instance of instances) {
      drains.push(await instance.stop());
      await instance.start();
      // Back in rotation before the next one stops (not an assertion: the load checks what matters).
      const before = instance.served();
      await waitFor(() => instance.served() > before, 5000);
    }
    return { drains };
  });
  t.diagnostic(`requests ${requests}, failures 0, spread ${spread.join('/')}, longest drain ${Math.round(Math.max(...drains))} ms (drains ${drains.map(Math.round).join(', ')} ms)`);
}

/** deploy/<name> with the test's ports in place of 8080 and 8001-8003. */
function deployConfig(name, front, ports) {
  let text = readFileSync(join(ROOT_DIR, 'deploy', name), 'utf8');
  ports.forEach((port, i) => {
    text = text.replaceAll(`127.0.0.1:800${i + 1}`, `127.0.0.1:${port}`);
  });
  return text.replace(/listen 8080;/, `listen 127.0.0.1:${front};`).replace(/bind :8080/, `bind 127.0.0.1:${front}`);
}

/** Run a checker (`nginx -t`, `haproxy -c`); resolves its exit code and output. */
function check(argv) {
  return deadline(new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('exit', (code) => resolve({ code, output }));
  }), 10000, argv.join(' '));
}

/** nginx's own paths (pid, temporary files) in the test's directory. */
function nginxConfig(work, front, ports) {
  for (const dir of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(work, dir), { recursive: true });
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((what, i) => `    ${what}_temp_path ${join(work, ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'][i])};`).join('\n');
  return deployConfig('nginx.conf', front, ports)
    .replace(/^pid .*;$/m, `pid ${join(work, 'nginx.pid')};`)
    .replace(/^worker_processes auto;$/m, 'worker_processes 1;\nuser root;')
    // Shorter than the deploy file's 4 s, still below scriptserve's 5 s keep-alive timeout: nginx closes
    // idle pooled connections first (what the file's comment explains), and a stopping instance is not kept waiting.
    .replace(/keepalive_timeout 4s;/, 'keepalive_timeout 1s;')
    .replace(/^http \{$/m, `http {\n${temp}`);
}

test('deploy/nginx.conf and deploy/haproxy.cfg are valid (nginx -t, haproxy -c)', { skip: needProgram(NGINX, 'nginx-light') || needProgram(HAPROXY, 'haproxy') }, async () => {
  const work = tempDir('scriptserve-deploy-check-');
  try {
    const nginx = await check([NGINX, '-t', '-p', work, '-c', join(ROOT_DIR, 'deploy', 'nginx.conf')]);
    assert.equal(nginx.code, 0, nginx.output);
    const haproxy = await check([HAPROXY, '-c', '-f', join(ROOT_DIR, 'deploy', 'haproxy.cfg')]);
    assert.equal(haproxy.code, 0, haproxy.output);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('three instances behind nginx (upstream keep-alive): a rolling SIGTERM restart under load fails no request', { skip: needProgram(NGINX, 'nginx-light') }, async (t) => {
  await rollingRestart(t, (work, front, ports) => {
    const conf = join(work, 'nginx.conf');
    writeFileSync(conf, nginxConfig(work, front, ports));
    return [NGINX, '-p', work, '-c', conf];
  });
});

/** HAProxy with deploy/haproxy.cfg, and the test's short check interval: --drain-delay (DRAIN_DELAY_S) is above it. */
function haproxy(work, front, ports) {
  const conf = join(work, 'haproxy.cfg');
  writeFileSync(conf, deployConfig('haproxy.cfg', front, ports).replace('inter 1s', `inter ${CHECK_INTERVAL_MS}ms`));
  return [HAPROXY, '-db', '-f', conf];
}

test('three instances behind HAProxy (option httpchk on --health): a rolling SIGTERM restart under load fails no request', { skip: needProgram(HAPROXY, 'haproxy') }, async (t) => {
  await rollingRestart(t, haproxy);
});

test('behind HAProxy, instances that all stall past the check interval (a busy machine) stay in rotation: no request fails', { skip: needProgram(HAPROXY, 'haproxy') }, async (t) => {
  // Every instance stopped (SIGSTOP) for 3 check intervals at once, twice: a
  // check that waits for an answer no longer than `inter` times out on all
  // three, and HAProxy is left with no server (503 for everyone).
  const stallMs = 3 * CHECK_INTERVAL_MS;
  const { requests, balancerOutput } = await underLoad(haproxy, async (instances) => {
    for (let round = 0; round < 2; round++) {
      for (const i of instances) i.cli.child.kill('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, stallMs));
      for (const i of instances) i.cli.child.kill('SIGCONT');
      // Each instance serves again before the next stall (the load checks what matters).
      const before = instances.map((i) => i.served());
      await waitFor(() => instances.every((i, n) => i.served() >= before[n] + 10), 10000);
    }
    return {};
  });
  assert.doesNotMatch(balancerOutput, /is DOWN/, 'no instance was taken out of rotation');
  t.diagnostic(`requests ${requests}, failures 0, 2 stalls of ${stallMs} ms on every instance`);
});
