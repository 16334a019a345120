// The deployment files of deploy/ (issue 20). The image cannot be built here
// (no registry), so the Dockerfile's start command runs on the host from a
// clean `npm ci --omit=dev` install and must pass the Dockerfile's own
// HEALTHCHECK; kubernetes.yaml is parsed and its timing relations checked;
// the systemd units run under systemd-socket-activate.
// (nginx.conf and haproxy.cfg: test/balancer.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CLI, ROOT_DIR, deadline, needProgram, request, rmSync, tempDir, waitFor, writeTree } from './helpers.mjs';

const DEPLOY = join(ROOT_DIR, 'deploy');

/** The Dockerfile's instructions, continuation lines joined: [{ op, args }]. */
function dockerfile() {
  const text = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  return text.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#')).map((l) => {
    const m = /^\s*(\S+)\s+(.*)$/.exec(l);
    return { op: m[1].toUpperCase(), args: m[2].trim() };
  });
}

/** A free loopback port. */
function freePort() {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Spawn a command; resolves once `ready(stdout, stderr)` holds: { child, out(), err(), exited }. */
async function startProcess(argv, { cwd, env = process.env, ready }) {
  const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ok = await waitFor(() => ready(out, err) || child.exitCode !== null, 10000, 20);
  if (!ok || child.exitCode !== null) {
    child.kill('SIGKILL');
    throw new Error(`${argv.join(' ')} did not start: ${out}${err}`);
  }
  return { child, out: () => out, err: () => err, exited };
}

/**
 * A clean production install of this package in `dir`, as the Dockerfile's
 * run stage makes it: package.json and package-lock.json, `npm ci --omit=dev`,
 * offline from the npm cache (CI's `npm ci` filled it). Entries of the lock
 * without a `resolved` URL get the registry's, so npm reads the tarballs from
 * the cache by their integrity instead of asking for metadata. Returns null,
 * or why it could not install.
 */
function productionInstall(dir) {
  cpSync(join(ROOT_DIR, 'package.json'), join(dir, 'package.json'));
  const lock = JSON.parse(readFileSync(join(ROOT_DIR, 'package-lock.json'), 'utf8'));
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key || entry.resolved || entry.link) continue;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    entry.resolved = `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
  }
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  const npm = spawnSync('npm', ['ci', '--omit=dev', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8', timeout: 120000 });
  if (npm.status === 0) return null;
  return `npm ci --omit=dev --offline failed: ${(npm.stderr || npm.stdout).split('\n').find((l) => /error/.test(l)) ?? npm.status}`;
}

test('Dockerfile: multi-stage on node:20-slim, production dependencies, non-root, python3, an init, health check', () => {
  const steps = dockerfile();
  const froms = steps.filter((s) => s.op === 'FROM').map((s) => s.args);
  assert.ok(froms.length >= 2, 'multi-stage');
  for (const from of froms) assert.match(from, /^node:20-slim\b/);
  const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args);
  assert.ok(runs.some((r) => /npm ci .*--omit=dev/.test(r)), 'production dependencies only in the run stage');
  assert.ok(runs.some((r) => /apt-get install .*python3/.test(r)), 'python3 installed');
  const lastFrom = steps.map((s) => s.op).lastIndexOf('FROM');
  const user = steps.slice(lastFrom).filter((s) => s.op === 'USER').map((s) => s.args).pop();
  assert.ok(user && user !== 'root' && user !== '0', `runs as a non-root user (${user})`);
  const entrypoint = JSON.parse(steps.find((s) => s.op === 'ENTRYPOINT').args);
  assert.ok(/tini$/.test(entrypoint[0]) && runs.some((r) => /apt-get install .*tini/.test(r)), 'tini is PID 1');
  const cmd = JSON.parse(steps.find((s) => s.op === 'CMD').args);
  assert.deepEqual(cmd.slice(cmd.indexOf('--bind'), cmd.indexOf('--bind') + 2), ['--bind', '0.0.0.0']);
  assert.deepEqual(cmd.slice(cmd.indexOf('--health'), cmd.indexOf('--health') + 2), ['--health', '/healthz']);
  assert.match(steps.find((s) => s.op === 'HEALTHCHECK').args, /\/healthz/);
});

test("Dockerfile: its start command, from a clean npm ci --omit=dev install, passes its HEALTHCHECK; 503 once draining", async (t) => {
  const app = tempDir('scriptserve-docker-app-');
  const site = tempDir('scriptserve-docker-site-');
  let server;
  try {
    const failed = productionInstall(app);
    if (failed) {
      if (process.env.CI) assert.fail(failed);
      t.skip(`${failed} (the npm cache lacks packages here; CI's npm ci fills it)`);
      return;
    }
    assert.ok(!existsSync(join(app, 'node_modules', 'typescript')), 'no dev dependencies');
    cpSync(join(ROOT_DIR, 'dist'), join(app, 'dist'), { recursive: true });
    writeTree(site, { 'index.html': '<h1>site</h1>\n' });
    const port = String(await freePort());
    const steps = dockerfile();
    const entrypoint = JSON.parse(steps.find((s) => s.op === 'ENTRYPOINT').args);
    const cmd = JSON.parse(steps.find((s) => s.op === 'CMD').args);
    // tini is the container's PID 1; on the host the command runs without it.
    const argv = [...entrypoint.slice(entrypoint.indexOf('--') + 1), ...cmd].map((arg) =>
      arg === 'node' ? process.execPath : arg === '/app/dist/cli.js' ? join(app, 'dist', 'cli.js') : arg === '/srv/site' ? site : arg === '8000' ? port : arg,
    );
    server = await startProcess(argv, { cwd: app, ready: (out) => out.includes('\n') });
    assert.equal(server.out().split('\n')[0], `Serving ${site} at http://0.0.0.0:${port}/`);
    const health = JSON.parse(steps.find((s) => s.op === 'HEALTHCHECK').args.replace(/^.*?CMD\s+/, ''))
      .map((arg) => (arg === 'node' ? process.execPath : arg.replaceAll(':8000/', `:${port}/`)));
    const probe = () => spawnSync(health[0], health.slice(1), { cwd: app, timeout: 10000 }).status;
    assert.equal(probe(), 0, 'HEALTHCHECK passes');
    assert.equal((await request(Number(port), '/')).status, 200);
    // docker stop: the health check fails while the server drains (--drain-delay).
    server.child.kill('SIGTERM');
    assert.equal(await waitFor(() => probe() === 1, 4000, 50), true, 'HEALTHCHECK fails while draining');
    server.child.kill('SIGTERM');
    assert.deepEqual(await deadline(server.exited, 5000, 'exit'), { code: 0, signal: null });
  } finally {
    server?.child.kill('SIGKILL');
    rmSync(app, { recursive: true, force: true });
    rmSync(site, { recursive: true, force: true });
  }
});

/** A flag's value in an argv list. */
function flagValue(args, flag) {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : String(args[i + 1]);
}

test('kubernetes.yaml: 3 replicas, readiness on --health, preStop pause, terminationGracePeriodSeconds > pause + drain + grace, a Service', () => {
  const docs = parseAllDocuments(readFileSync(join(DEPLOY, 'kubernetes.yaml'), 'utf8'));
  for (const doc of docs) assert.deepEqual(doc.errors, []);
  const objects = docs.map((d) => d.toJS());
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const service = objects.find((o) => o.kind === 'Service');
  assert.ok(deployment && service);
  assert.equal(deployment.spec.replicas, 3);
  const pod = deployment.spec.template;
  const [container] = pod.spec.containers;
  const args = container.args.map(String);
  const health = flagValue(args, '--health');
  assert.equal(health, '/healthz');
  assert.equal(container.readinessProbe.httpGet.path, health);
  const drain = Number(flagValue(args, '--drain-delay'));
  const grace = Number(flagValue(args, '--shutdown-grace'));
  assert.ok(drain > 0 && grace > 0);
  // The drain must outlast one readiness period, so the probe sees the 503.
  assert.ok(drain > container.readinessProbe.periodSeconds * (container.readinessProbe.failureThreshold ?? 3));
  const preStop = container.lifecycle.preStop.exec.command;
  assert.equal(preStop[0], 'sleep');
  const pause = Number(preStop[1]);
  assert.ok(pause > 0);
  assert.ok(pod.spec.terminationGracePeriodSeconds > pause + drain + grace, `${pod.spec.terminationGracePeriodSeconds} > ${pause} + ${drain} + ${grace}`);
  // The Service reaches these pods on the container's port.
  for (const [key, value] of Object.entries(service.spec.selector)) assert.equal(pod.metadata.labels[key], value);
  assert.deepEqual(deployment.spec.selector.matchLabels, service.spec.selector);
  const port = container.ports.find((p) => p.name === service.spec.ports[0].targetPort || p.containerPort === service.spec.ports[0].targetPort);
  assert.ok(port, 'targetPort names a container port');
  assert.equal(String(port.containerPort), flagValue(args, '--port'));
  assert.ok(pod.spec.securityContext.runAsNonRoot);
});

/** `Key=value` lines of a unit file, by key (the last one wins, as in systemd). */
function unitKeys(name) {
  const keys = {};
  for (const line of readFileSync(join(DEPLOY, name), 'utf8').split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys[m[1]] = m[2];
  }
  return keys;
}

test('systemd units: the service runs under the socket unit\'s socket (systemd-socket-activate)', { skip: needProgram('/usr/bin/systemd-socket-activate', 'systemd') }, async () => {
  const socketUnit = unitKeys('scriptserve.socket');
  const serviceUnit = unitKeys('scriptserve.service');
  assert.equal(serviceUnit.Requires, 'scriptserve.socket');
  assert.equal(serviceUnit.KillMode, 'mixed');
  const exec = serviceUnit.ExecStart.split(/\s+/);
  const drain = Number(flagValue(exec, '--drain-delay'));
  const grace = Number(flagValue(exec, '--shutdown-grace'));
  assert.ok(Number(serviceUnit.TimeoutStopSec) > drain + grace, 'TimeoutStopSec exceeds drain + grace');
  assert.equal(exec.includes('--port') || exec.includes('--bind'), false, 'the socket comes from the socket unit');
  const port = await freePort();
  const listen = socketUnit.ListenStream.replace(/:\d+$/, `:${port}`);
  const site = tempDir('scriptserve-systemd-site-');
  writeTree(site, { 'index.txt': 'activated\n' });
  let server;
  try {
    const argv = ['/usr/bin/systemd-socket-activate', '-l', listen, process.execPath, CLI, ...exec.slice(1).map((a) => (a === '/srv/site' ? site : a))];
    server = await startProcess(argv, { ready: (_out, err) => /Listening on/.test(err) });
    // The socket is systemd's: it exists before scriptserve runs, which starts with the first connection.
    const res = await request(port, '/index.txt');
    assert.equal(res.body.toString(), 'activated\n');
    assert.equal(server.out().split('\n')[0], `Serving ${site} at http://127.0.0.1:${port}/`);
    assert.match(server.err(), /socket activation: serving the socket\(s\) passed on fd 3/);
    assert.equal((await request(port, '/healthz')).status, 200);
  } finally {
    server?.child.kill('SIGKILL');
    rmSync(site, { recursive: true, force: true });
  }
});
