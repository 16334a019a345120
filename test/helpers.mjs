// Shared helpers for the black-box tests: real servers on 127.0.0.1:0, raw
// sockets (fetch/URL would normalize `..` and `%2e%2e` before sending), real
// scripts. Every wait has a deadline.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from '../dist/index.js';

export const ROOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT_DIR, 'dist', 'cli.js');
export const FIXTURES = join(ROOT_DIR, 'test', 'fixtures');

/** Debian's python3 starts in ~30 ms; a pyenv shim on PATH can cost 0.2–0.8 s per start. SCRIPTSERVE_TEST_PYTHON names another (to try a version before listing it in TESTED_PYTHON_VERSIONS). */
export const PYTHON = process.env.SCRIPTSERVE_TEST_PYTHON || '/usr/bin/python3';

/** SCRIPTSERVE_TEST_WARM=1 (`npm run test:warm`) runs every server with warm Python on (issue 7). */
export const WARM = process.env.SCRIPTSERVE_TEST_WARM === '1';
const WARM_OPTIONS = WARM ? { warmPython: true, warmInterpreter: PYTHON } : {};
const WARM_FLAGS = WARM ? ['--warm-python', '--warm-interpreter', PYTHON] : [];

/** Reject after `ms` with a message, so no test can hang. */
export function deadline(promise, ms, what = 'operation') {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A fresh temporary directory; returns its path. Remove with `rmSync(dir, {recursive: true, force: true})`. */
export function tempDir(prefix = 'scriptserve-test-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write files from a `{ 'rel/path': content | {content, mode} }` map under dir. */
export function writeTree(dir, tree) {
  for (const [rel, spec] of Object.entries(tree)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    if (spec === null) {
      mkdirSync(path, { recursive: true });
      continue;
    }
    const { content, mode } = typeof spec === 'object' && !Buffer.isBuffer(spec) ? spec : { content: spec };
    writeFileSync(path, content);
    if (mode !== undefined) chmodSync(path, mode);
  }
}

/**
 * Start a library server (createServer) on 127.0.0.1:0 with options; returns
 * { server, port, base, logs, close }. `logs` collects log lines.
 */
export async function startServer(options = {}) {
  const logs = [];
  const server = createServer({ log: (line) => logs.push(line), ...WARM_OPTIONS, ...options });
  await deadline(new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  }), 5000, 'listen');
  const port = server.address().port;
  return {
    server,
    port,
    base: `http://127.0.0.1:${port}`,
    logs,
    close: () => deadline(new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }), 5000, 'server close'),
  };
}

/**
 * One request with node:http (the path is sent as given, never normalized).
 * Resolves { status, headers, body: Buffer, rawHeaders }.
 */
export function request(port, path, { method = 'GET', headers = {}, body, timeout = 15000, agent = false } = {}) {
  return deadline(new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  }), timeout, `${method} ${path}`);
}

/**
 * Send raw bytes on a fresh TCP connection and collect everything until the
 * server closes it (or `idleMs` passes without data once something arrived).
 * Resolves the whole reply as a latin1 string.
 */
export function rawRequest(port, data, { timeout = 10000, idleMs = 500 } = {}) {
  return deadline(new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks = [];
    let idle;
    const finish = () => {
      clearTimeout(idle);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    socket.on('data', (c) => {
      chunks.push(c);
      clearTimeout(idle);
      idle = setTimeout(finish, idleMs);
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', (err) => (chunks.length ? finish() : reject(err)));
    socket.write(data);
  }), timeout, 'raw request');
}

/**
 * A client that goes on sending its body after the answer came, as curl and
 * browsers do with a body they have started: send `head` and `initialBytes`
 * of body, read the answer, wait `pauseMs` (the server has written and ended
 * it by then), then send `moreBytes`, in 64 KiB pieces (each a chunk when
 * `chunked`), each written (and `pieceDelayMs` waited) before the next. Resolves { answer (its text),
 * sentAfter (bytes accepted after the pause), error (the code of the write
 * that failed, if one did) }.
 */
export function sendAfterAnswer(port, head, { initialBytes = 65536, pauseMs = 200, moreBytes = 1 << 20, chunked = false, pieceDelayMs = 0 } = {}) {
  return deadline(new Promise((resolve) => {
    // Half-open, as curl is: the server's end of the answer does not stop the sending.
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const raw = Buffer.alloc(65536);
    const piece = chunked ? Buffer.concat([Buffer.from('10000\r\n'), raw, Buffer.from('\r\n')]) : raw;
    let answer = '';
    let sentAfter = 0;
    let error = null;
    socket.on('error', (err) => (error ??= err.code ?? err.message));
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.write(head);
    for (let n = 0; n < initialBytes; n += raw.length) socket.write(piece);
    socket.once('data', async () => {
      await new Promise((r) => setTimeout(r, pauseMs));
      while (sentAfter < moreBytes && error === null && !socket.destroyed) {
        const ok = await new Promise((r) => socket.write(piece, (err) => r(!err)));
        if (!ok) break;
        sentAfter += raw.length;
        if (pieceDelayMs > 0) await new Promise((r) => setTimeout(r, pieceDelayMs));
      }
      socket.destroy();
      resolve({ answer, sentAfter, error });
    });
  }), 30000, 'sending after the answer');
}

/**
 * `fn`'s result, run while process `pid` is stopped (SIGSTOP past a deadline
 * of the server's: a helper that cannot answer in time); it is continued
 * after, whatever `fn` did. Waits 200 ms first, so that the process has done
 * with the request before.
 */
export async function whileStopped(pid, fn) {
  await new Promise((r) => setTimeout(r, 200));
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

/** Parse the first response of a raw reply: { status, headers (lower-case names, arrays), body }. */
export function parseRawResponse(text) {
  const end = text.indexOf('\r\n\r\n');
  const head = text.slice(0, end < 0 ? text.length : end).split('\r\n');
  const status = Number(head[0].split(' ')[1]);
  const headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).toLowerCase();
    (headers[name] ??= []).push(line.slice(i + 1).trim());
  }
  return { status, statusLine: head[0], headers, body: end < 0 ? '' : text.slice(end + 4) };
}

/**
 * Spawn the built CLI with args; resolves once its first stdout line arrives:
 * { child, banner, port, stdout(): string, stderr(): string, exited: Promise<{code, signal}>, stop() }.
 */
export function startCli(args, { env = process.env, cwd = ROOT_DIR, timeout = 10000, uid, gid, detached = false } = {}) {
  // detached: the CLI leads its own process group, so a test can signal the group as a terminal's Ctrl-C does.
  const child = spawn(process.execPath, [CLI, ...args, ...WARM_FLAGS], { cwd, env, uid, gid, detached, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const banner = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.stderr.on('data', (d) => (err += d));
    exited.then(({ code }) => reject(new Error(`cli exited (${code}) before its banner: ${err}`)));
  });
  return deadline(banner, timeout, 'cli banner').then((line) => {
    const m = /:(\d+)\/$/.exec(line);
    return {
      child,
      banner: line,
      port: m ? Number(m[1]) : null,
      stdout: () => out,
      stderr: () => err,
      exited,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          if (detached) {
            try {
              process.kill(-child.pid, 'SIGKILL');
            } catch {
              /* gone */
            }
          } else child.kill('SIGKILL');
        }
        await deadline(exited, 5000, 'cli exit');
      },
    };
  }, (e) => {
    child.kill('SIGKILL');
    throw e;
  });
}

/** Run the CLI to completion (for --help, bad input). Resolves { code, stdout, stderr }. */
export function runCli(args, { env = process.env, timeout = 10000 } = {}) {
  let child;
  return deadline(new Promise((resolve) => {
    child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  }), timeout, `scriptserve ${args.join(' ')}`).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** Poll `fn` until it returns truthy or `ms` passes; returns the last value. */
export async function waitFor(fn, ms = 5000, stepMs = 50) {
  const end = Date.now() + ms;
  let value = await fn();
  while (!value && Date.now() < end) {
    await new Promise((r) => setTimeout(r, stepMs));
    value = await fn();
  }
  return value;
}

/** State and parent of a process from /proc/PID/stat, or null once it is gone. */
export function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state, ppid: Number(ppid) };
  } catch {
    return null;
  }
}

/** Every process as { pid, state, ppid }. */
function processes() {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat) out.push({ pid: Number(entry), ...stat });
  }
  return out;
}

/** Is the process running (not gone, not a zombie)? */
export function isAlive(pid) {
  const stat = procStat(pid);
  return stat !== null && stat.state !== 'Z';
}

/** The parent pid of a running process; null once it is gone or a zombie. */
export function parentOf(pid) {
  const stat = procStat(pid);
  return stat === null || stat.state === 'Z' ? null : stat.ppid;
}

/** Running children of a process. */
export function childPids(pid) {
  return processes().filter((p) => p.ppid === pid && p.state !== 'Z').map((p) => p.pid);
}

/** Children of this process that are zombies (exited, never reaped). */
export function zombieChildren() {
  return processes().filter((p) => p.ppid === process.pid && p.state === 'Z').map((p) => p.pid);
}

/** The helper process's program (src/cgi/python/): what its command line shows. */
export const HELPER_PROGRAM = 'scriptserve_helper.py';

/** Is `pid` a running child of this process that runs the helper program (a warm fork server or a spawn helper)? */
export function isForkServerChild(pid) {
  if (pid === process.pid || parentOf(pid) !== process.pid) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(HELPER_PROGRAM);
  } catch {
    return false;
  }
}

/** Pids of running processes whose command line contains `marker`. */
export function pidsMatching(marker) {
  const pids = [];
  for (const { pid, state } of processes()) {
    if (state === 'Z') continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(marker)) pids.push(pid);
    } catch {
      /* gone */
    }
  }
  return pids;
}

export { rmSync };

/** Debian's Chromium, driven by playwright-core in the browser tests. */
export const CHROMIUM = '/usr/bin/chromium';

/** Debian's Chromium through playwright-core, headless, with what it would fetch for itself (updates, sync, QUIC) turned off. */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * The `skip` option for tests that run a real program (nginx, php-cgi, git…):
 * false when it is installed; otherwise a visible skip note, except in CI
 * (`CI` set), where a missing program is an error: `.ci/run` installs it.
 */
export function needProgram(path, debianPackage) {
  if (existsSync(path)) return false;
  if (process.env.CI) throw new Error(`${path} is missing: .ci/run should have installed ${debianPackage}`);
  return `${path} not installed (apt-get install ${debianPackage})`;
}
