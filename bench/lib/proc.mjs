// Processes, ports, HTTP probes and memory readings for the benchmark.
// Every child runs in its own process group so that stopping it also stops
// what it spawned (CGI children, forked helpers); every wait has a deadline.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { helpersOf } from './cpu.mjs';

/** Process groups started here and not yet reaped. */
const live = new Set();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Prefix argv with `taskset -c CPU` when a CPU is given. */
export function pinned(cpu, argv) {
  return cpu === null || cpu === undefined ? argv : ['taskset', '-c', String(cpu), ...argv];
}

/**
 * Start argv in a new process group. Output goes to `logFile` (appended) or
 * is dropped; `exited` resolves with {code, signal} once it is reaped.
 */
export function startGroup(argv, { cwd, env, logFile, stdout } = {}) {
  const out = logFile ? openSync(logFile, 'a') : 'ignore';
  const child = spawn(argv[0], argv.slice(1), {
    cwd,
    env: env ?? process.env,
    detached: true,
    stdio: ['ignore', stdout ? 'pipe' : out, out],
  });
  if (typeof out === 'number') closeSync(out);
  live.add(child);
  child.exited = new Promise((resolve) => {
    const done = (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    };
    child.once('exit', done);
    child.once('error', (err) => {
      child.startError = err;
      done(null, null);
    });
  });
  return child;
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

/** SIGTERM the group, SIGKILL whatever is left after `graceMs`, await the leader. */
export async function stopGroup(child, graceMs = 3000) {
  if (!child?.pid) return;
  killGroup(child.pid, 'SIGTERM');
  const timedOut = await Promise.race([child.exited.then(() => false), sleep(graceMs).then(() => true)]);
  // The leader may be gone while a CGI child lingers in the group: always finish with SIGKILL.
  killGroup(child.pid, 'SIGKILL');
  if (timedOut) await Promise.race([child.exited, sleep(2000)]);
}

/** Last resort on exit or interrupt: SIGKILL every group still alive. */
export function killAllSync() {
  for (const child of live) if (child.pid) killGroup(child.pid, 'SIGKILL');
  live.clear();
}

/** Run argv to completion (bounded), capturing stdout as text. */
export async function runCaptured(argv, { timeoutMs, env, cwd } = {}) {
  const child = startGroup(argv, { env, cwd, stdout: true });
  let text = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d) => {
    if (text.length < 1 << 20) text += d;
  });
  const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), timeoutMs ?? 60_000);
  const { code, signal } = await child.exited;
  clearTimeout(timer);
  killGroup(child.pid, 'SIGKILL');
  if (child.startError) throw child.startError;
  return { code, signal, stdout: text };
}

/** A port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * One request to 127.0.0.1:port on a fresh connection.
 * Resolves {status, headers, body} (body capped at `maxBody` bytes) or rejects on timeout.
 */
export function request(port, { method = 'GET', path = '/', headers = {}, body, timeoutMs = 15_000, maxBody = 32 << 20, tls = false } = {}) {
  return new Promise((resolve, reject) => {
    // tls: HTTPS to a server with a self-signed certificate (the bench's own).
    const client = tls ? https : http;
    const req = client.request({ host: '127.0.0.1', port, method, path, headers, agent: false, rejectUnauthorized: false }, (res) => {
      const chunks = [];
      let size = 0;
      res.on('data', (c) => {
        size += c.length;
        if (size <= maxBody) chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), size });
      });
      res.on('error', fail);
    });
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    function fail(err) {
      clearTimeout(timer);
      req.destroy();
      reject(err);
    }
    req.on('error', fail);
    req.end(body);
  });
}

/** Poll until the server answers any HTTP request, it exits, or the deadline passes. */
export async function waitReady(port, child, deadlineMs = 15_000, intervalMs = 20, tls = false) {
  const end = Date.now() + deadlineMs;
  let exited = false;
  child.exited.then(() => (exited = true));
  while (Date.now() < end) {
    if (exited) throw new Error(`exited before answering (see its log)`);
    try {
      await request(port, { path: '/', timeoutMs: 2000, maxBody: 0, tls });
      return;
    } catch {
      await sleep(intervalMs);
    }
  }
  throw new Error(`did not answer within ${deadlineMs} ms`);
}

/** VmRSS and VmHWM of a process, in MiB (null when it is gone). */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

/** Sample VmRSS every `intervalMs` until stopped; stop() returns the largest sample in MiB. */
export function sampleRss(pid, intervalMs = 100) {
  let peak = memoryOf(pid)?.rssMiB ?? NaN;
  const timer = setInterval(() => {
    const m = memoryOf(pid);
    if (m && !(m.rssMiB <= peak)) peak = m.rssMiB;
  }, intervalMs);
  return () => {
    clearInterval(timer);
    const m = memoryOf(pid);
    if (m && !(m.rssMiB <= peak)) peak = m.rssMiB;
    return peak;
  };
}

/** Pids of a process's children, over all its threads (Linux /proc). */
export function childrenOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean));
  } catch {
    return [];
  }
}

/**
 * Wait until a server's scripts are reaped, at most `deadlineMs`: it has no
 * child left but its helper processes (found by `helperPattern`; they live as
 * long as it does), and they have none either.
 */
export async function waitNoChildren(pid, deadlineMs, helperPattern) {
  const end = Date.now() + deadlineMs;
  const scripts = () => {
    const helpers = helpersOf(pid, helperPattern);
    return childrenOf(pid).filter((c) => !helpers.includes(Number(c))).length + helpers.reduce((n, h) => n + childrenOf(h).length, 0);
  };
  while (scripts() && Date.now() < end) await sleep(50);
}

/** The last error line of a log file, to say why a server stopped. */
export function lastErrorLine(logFile) {
  try {
    const lines = readFileSync(logFile, 'utf8').slice(-8192).split('\n').map((l) => l.trim()).filter(Boolean);
    const last = (re) => [...lines].reverse().find((l) => re.test(l));
    return last(/(^|\s)\w*Error:/) ?? last(/error/i) ?? lines.at(-1) ?? '';
  } catch {
    return '';
  }
}

/** Absolute path of a program on PATH, or null. */
export function which(name) {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}
