// Shared machinery of the stress suite (test/stress/run.mjs and
// test/stress-fast.test.mjs): servers started as child processes of the built
// CLI so that /proc tells their memory, descriptors and children; a raw
// keep-alive HTTP/1.1 client that checks every answer is well-formed; a
// latency probe; and the per-category record that becomes a row of figures.
// Loopback only; every loop is bounded in count and time; every wait has a deadline.
import { mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startCli, deadline, waitFor, pidsMatching, rmSync, tempDir, writeTree } from '../helpers.mjs';

export { deadline, waitFor, pidsMatching };

const EMPTY = Buffer.alloc(0);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- /proc

/** VmRSS, VmHWM (KiB), open descriptors and threads of a process; null when it is gone. */
export function procInfo(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKb: field('VmRSS'), hwmKb: field('VmHWM'), threads: field('Threads'), fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

/** What each descriptor of a process points at (for explaining a difference in counts). */
export function fdTargets(pid) {
  const out = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        out.push(`${fd}->${readlinkSync(`/proc/${pid}/fd/${fd}`)}`);
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    /* gone */
  }
  return out;
}

/** Direct children of a process: [{ pid, state, comm }]. */
export function childrenOf(ppid) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      // comm may hold spaces and parentheses: the fields after it start past the last ')'.
      const close = stat.lastIndexOf(')');
      const rest = stat.slice(close + 2).split(' ');
      if (Number(rest[1]) === ppid) out.push({ pid: Number(entry), state: rest[0], comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      /* gone */
    }
  }
  return out;
}

export const zombiesOf = (pid) => childrenOf(pid).filter((c) => c.state === 'Z');

export function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Deterministic PRNG (mulberry32), so a failing fuzz run can be replayed with STRESS_SEED. */
export function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (arr) => arr[Math.floor(next() * arr.length)] };
}

// ---------------------------------------------------------------- the record of a category

const MAX_LISTED_FAILURES = 40;
const SATURATED = 60;

/** One category's figures and failed checks. */
export class Category {
  constructor(id, name) {
    this.id = id;
    this.name = name;
    this.sent = 0;
    this.answered = 0;
    this.statuses = new Map();
    this.failures = [];
    this.failureCount = 0;
    this.latencies = [];
    this.maxRssKb = 0;
    this.fdsBefore = null;
    this.fdsAfter = null;
    this.leftover = 0;
    this.zombies = 0;
    this.notes = [];
    this.servers = [];
    this.started = Date.now();
    this.ms = 0;
  }

  fail(message) {
    // A body still running after its deadline aborted the category only adds noise about stopped servers.
    if (this.closed) return;
    this.failureCount++;
    if (this.failures.length < MAX_LISTED_FAILURES) this.failures.push(message);
  }

  /** So many checks failed that more of the same adds nothing: loops stop early, keeping a broken run short. */
  get saturated() {
    return this.failureCount >= SATURATED;
  }

  check(ok, message) {
    if (!ok) this.fail(typeof message === 'function' ? message() : message);
    return ok;
  }

  note(text) {
    this.notes.push(text);
  }

  /** Count one answer (a parsed response or a status number). */
  tally(status) {
    this.answered++;
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  /** Count a request that, by design, never waits for its answer (a vanishing client). */
  count(label) {
    this.statuses.set(label, (this.statuses.get(label) ?? 0) + 1);
  }

  /** Fold in a server's peak memory; call before it exits. */
  sample(srv) {
    const info = procInfo(srv.pid);
    if (info) this.maxRssKb = Math.max(this.maxRssKb, info.hwmKb);
    return info;
  }

  statusText() {
    return [...this.statuses.entries()]
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])))
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
  }

  summary() {
    return {
      id: this.id,
      name: this.name,
      sent: this.sent,
      answered: this.answered,
      statuses: this.statusText(),
      maxRssMb: this.maxRssKb ? Math.round(this.maxRssKb / 102.4) / 10 : null,
      fds: this.fdsBefore === null ? '-' : `${this.fdsBefore}/${this.fdsAfter ?? '?'}`,
      leftover: this.leftover,
      zombies: this.zombies,
      p50: percentile(this.latencies, 50),
      p99: percentile(this.latencies, 99),
      probes: this.latencies.length,
      failures: this.failureCount,
      seconds: Math.round(this.ms / 100) / 10,
    };
  }
}

/**
 * Run a category body with its record; the servers it started are killed in
 * finally, whatever happens, and the whole run has a deadline.
 */
export async function runCategory(id, name, budgetMs, body) {
  const cat = new Category(id, name);
  try {
    await deadline(body(cat), budgetMs, `category ${id} (${name})`);
  } catch (err) {
    cat.fail(`aborted: ${err?.message ?? err}`);
    cat.closed = true;
  } finally {
    for (const probe of cat.probes ?? []) await probe.stop().catch(() => {});
    for (const srv of cat.servers) {
      try {
        cat.sample(srv);
        await srv.stop();
      } catch (err) {
        cat.closed = false;
        cat.fail(`stopping a server: ${err?.message ?? err}`);
      }
    }
    cat.closed = false;
    // Anything a script of this category left behind is reported, then killed by pid.
    for (const marker of cat.markers ?? []) {
      const left = await pidsMatching(marker);
      if (left.length) {
        cat.leftover = Math.max(cat.leftover, left.length);
        // Scripts run in their own sessions, so a server killed with SIGKILL leaves them behind:
        // news only when no earlier check already reported them.
        const text = `after the servers stopped, killed ${left.length} leftover script process(es) of ${marker}`;
        if (cat.failureCount === 0) cat.fail(text);
        else cat.note(text);
        for (const pid of left) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
    }
    for (const dir of cat.dirs ?? []) rmSync(dir, { recursive: true, force: true });
    cat.ms = Date.now() - cat.started;
  }
  return cat;
}

// ---------------------------------------------------------------- servers

/**
 * Start the built CLI as a child process on 127.0.0.1:0 serving `root`;
 * `quiet` adds -q. Returns the helpers' handle plus `pid`, `port` and `info()`.
 */
export async function startStressServer(cat, root, args = [], { quiet = true, env = process.env } = {}) {
  const srv = await startCli(['--port', '0', ...(quiet ? ['-q'] : []), '-d', root, ...args], { env, timeout: 15000 });
  srv.pid = srv.child.pid;
  srv.info = () => procInfo(srv.pid);
  srv.alive = () => srv.child.exitCode === null && srv.child.signalCode === null;
  cat.servers.push(srv);
  if (!srv.port) throw new Error(`no port in banner: ${srv.banner}`);
  return srv;
}

/**
 * The server's descriptor count once it stops changing (the server side of a
 * connection the client just closed takes a moment to go): the baseline.
 */
export async function steadyFds(srv, maxMs = 3000) {
  const end = Date.now() + maxMs;
  let last = srv.info()?.fds;
  let same = 0;
  while (Date.now() < end && same < 3) {
    await sleep(100);
    const now = srv.info()?.fds;
    same = now === last ? same + 1 : 0;
    last = now;
  }
  srv.fdBase = new Set(fdTargets(srv.pid));
  return last;
}

/**
 * After an attack: wait (bounded) until no script process of `marker`
 * remains, no zombie child, and the descriptor count is back to `fdsBefore`;
 * record the figures and fail the checks that did not come true.
 */
export async function settle(cat, srv, { markers = [], fdsBefore, waitMs = 8000 } = {}) {
  const end = Date.now() + waitMs;
  const left = async () => (await Promise.all(markers.map((m) => pidsMatching(m)))).flat();
  const gone = await waitFor(async () => (await left()).length === 0, Math.max(0, end - Date.now()), 100);
  const remaining = gone ? [] : await left();
  cat.leftover = Math.max(cat.leftover, remaining.length);
  cat.check(remaining.length === 0, () => `script processes still running ${waitMs} ms after the attack: ${remaining.join(',')}`);
  await waitFor(() => zombiesOf(srv.pid).length === 0, Math.max(0, end - Date.now()), 100);
  const zombies = zombiesOf(srv.pid);
  cat.zombies = Math.max(cat.zombies, zombies.length);
  cat.check(zombies.length === 0, () => `zombie children of the server: ${zombies.map((z) => `${z.pid}(${z.comm})`).join(',')}`);
  if (fdsBefore !== undefined) {
    await waitFor(() => srv.info()?.fds === fdsBefore, Math.max(500, end - Date.now()), 100);
    const after = srv.info()?.fds ?? null;
    cat.fdsBefore = fdsBefore;
    cat.fdsAfter = after;
    const added = () => fdTargets(srv.pid).filter((t) => !srv.fdBase?.has(t));
    cat.check(after === fdsBefore, () => `descriptors ${fdsBefore} before, ${after} after; new: ${added().join(' ') || '(none; some closed)'}`);
  }
  cat.check(srv.alive(), 'the server process died');
  cat.sample(srv);
}

// ---------------------------------------------------------------- parsing responses

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_HEAD = 64 * 1024;

/**
 * Parse one HTTP/1.x response at the start of `buf`. Returns null when more
 * bytes are needed, `{ error }` when what arrived is not a well-formed
 * response, `{ interim, consumed }` for a 1xx, else
 * `{ status, statusLine, headers, body, consumed }` (header names lower-case,
 * values arrays). `ended`: the server closed, so a close-delimited body is complete.
 * `hint`: an object that gets `need`, the length `buf` must reach before a
 * null result can change (when the head says so).
 */
export function parseResponse(buf, { head = false, ended = false, hint } = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length > MAX_HEAD) return { error: 'response head over 64 KiB' };
    if (!ended) return null;
    return buf.length === 0 ? { error: 'connection closed without a response', dropped: true } : { error: `truncated response head: ${JSON.stringify(buf.subarray(0, 80).toString('latin1'))}` };
  }
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] ([1-5]\d\d)(?: ([^\r\n\0]*))?$/.exec(lines[0]);
  if (!m) return { error: `bad status line ${JSON.stringify(lines[0].slice(0, 100))}` };
  const headers = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    const name = i > 0 ? line.slice(0, i) : '';
    // eslint-disable-next-line no-control-regex
    if (!TOKEN.test(name) || /[\0\r\n]/.test(line)) return { error: `bad header line ${JSON.stringify(line.slice(0, 100))}` };
    (headers[name.toLowerCase()] ??= []).push(line.slice(i + 1).trim());
  }
  const status = Number(m[1]);
  let pos = end + 4;
  if (status < 200) return { interim: true, status, consumed: pos };
  const base = { status, statusLine: lines[0], headers, headLength: pos };
  if (head || status === 204 || status === 304) return { ...base, body: EMPTY, consumed: pos };
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  if (te) {
    if (cl) return { error: 'response carries both Content-Length and Transfer-Encoding' };
    if (te.length !== 1 || te[0].toLowerCase() !== 'chunked') return { error: `response Transfer-Encoding ${te.join(',')}` };
    const parts = [];
    for (;;) {
      const le = buf.indexOf('\r\n', pos);
      if (le < 0) return ended ? { error: 'truncated chunked body', truncated: true, ...base } : null;
      const sm = /^([0-9a-fA-F]{1,8})(;[^\r\n]*)?$/.exec(buf.subarray(pos, le).toString('latin1'));
      if (!sm) return { error: 'bad chunk size line in response' };
      const size = parseInt(sm[1], 16);
      pos = le + 2;
      if (size === 0) {
        for (;;) {
          const tl = buf.indexOf('\r\n', pos);
          if (tl < 0) return ended ? { error: 'truncated chunked trailer', truncated: true, ...base } : null;
          const empty = tl === pos;
          pos = tl + 2;
          if (empty) break;
        }
        return { ...base, body: Buffer.concat(parts), consumed: pos, chunked: true };
      }
      if (buf.length < pos + size + 2) {
        if (hint) hint.need = pos + size + 2;
        return ended ? { error: 'truncated chunk', truncated: true, ...base } : null;
      }
      if (buf[pos + size] !== 13 || buf[pos + size + 1] !== 10) return { error: 'chunk not followed by CRLF' };
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
  }
  if (cl) {
    if (cl.length !== 1 || !/^\d{1,15}$/.test(cl[0])) return { error: `bad response Content-Length ${cl.join(',')}` };
    const n = Number(cl[0]);
    if (buf.length < pos + n) {
      if (hint) hint.need = pos + n;
      return ended ? { error: `truncated body: ${buf.length - pos} of ${n} bytes`, truncated: true, ...base, body: buf.subarray(pos) } : null;
    }
    return { ...base, body: buf.subarray(pos, pos + n), consumed: pos + n };
  }
  if (!ended) return null;
  return { ...base, body: buf.subarray(pos), consumed: buf.length, closeDelimited: true };
}

/** Every response in a complete reply (the connection has ended); stops at the first malformed one. */
export function parseAll(buf, { head = false } = {}) {
  const out = [];
  let rest = buf;
  for (let i = 0; i < 100 && rest.length > 0; i++) {
    const r = parseResponse(rest, { head, ended: true });
    if (r.error) {
      out.push(r);
      break;
    }
    rest = rest.subarray(r.consumed);
    if (r.interim) continue;
    out.push(r);
  }
  return out;
}

const wantsClose = (r) => (r.headers.connection ?? []).some((v) => /\bclose\b/i.test(v));

// ---------------------------------------------------------------- raw client

/** Open a TCP connection to 127.0.0.1:port. */
export function openSocket(port, timeout = 5000) {
  return deadline(
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    }),
    timeout,
    'connect',
  );
}

/**
 * A keep-alive connection that sends one request at a time and parses each
 * answer. `request()` never rejects: it resolves a parsed response, or
 * `{ error }` (malformed, dropped without an answer, timeout).
 */
export class Conn {
  static async open(port, timeout) {
    return new Conn(await openSocket(port, timeout));
  }

  constructor(socket) {
    this.socket = socket;
    this.buf = EMPTY; // unparsed bytes: a view into `store`, which grows by doubling (a 32 MiB answer is copied O(n), not O(n²))
    this.store = EMPTY;
    this.need = 0; // bytes the pending answer needs at least before it is worth parsing again
    this.ended = false;
    this.pending = null;
    socket.on('data', (d) => {
      this.append(d);
      if (this.buf.length >= this.need) this.pump();
    });
    const end = () => {
      this.ended = true;
      this.pump();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  append(d) {
    const { buf, store } = this;
    const at = buf.byteOffset - store.byteOffset + buf.length;
    if (buf.length > 0 && buf.buffer === store.buffer && at + d.length <= store.length) {
      d.copy(store, at);
      this.buf = store.subarray(at - buf.length, at + d.length);
      return;
    }
    if (buf.length === 0) {
      this.buf = d;
      this.store = d;
      return;
    }
    const next = Buffer.allocUnsafe(Math.max(2 * (buf.length + d.length), 65536));
    buf.copy(next, 0);
    d.copy(next, buf.length);
    this.store = next;
    this.buf = next.subarray(0, buf.length + d.length);
  }

  get usable() {
    return !this.ended && !this.closing && !this.socket.destroyed;
  }

  request(data, { head = false, timeout = 15000 } = {}) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending = null;
        this.destroy();
        resolve({ error: `no complete answer within ${timeout} ms`, timeout: true });
      }, timeout);
      this.pending = { head, resolve, timer };
      if (!this.socket.destroyed) for (const part of Array.isArray(data) ? data : [data]) this.socket.write(part, () => {});
      this.pump();
    });
  }

  pump() {
    for (;;) {
      const p = this.pending;
      if (!p) return;
      const hint = {};
      const r = parseResponse(this.buf, { head: p.head, ended: this.ended, hint });
      this.need = hint.need ?? 0;
      if (r === null) return;
      if (r.interim) {
        this.buf = this.buf.subarray(r.consumed);
        continue;
      }
      clearTimeout(p.timer);
      this.pending = null;
      if (r.error) {
        this.destroy();
      } else {
        this.buf = this.buf.subarray(r.consumed);
        if (wantsClose(r)) this.closing = true;
      }
      p.resolve(r);
      return;
    }
  }

  destroy() {
    this.closing = true;
    this.socket.destroy();
  }
}

/**
 * Send raw bytes (a Buffer, or an array of Buffers written `gapMs` apart) on
 * a fresh connection; collect the whole reply until the server closes, or
 * `idleMs` of silence once something arrived, or `firstByteMs` with nothing
 * at all. Resolves { buf, closed (by the server), silent (nothing came), ms }.
 */
export async function sendRaw(port, data, { idleMs = 1000, firstByteMs = 3000, gapMs = 0 } = {}) {
  const socket = await openSocket(port);
  const started = performance.now();
  const parts = Array.isArray(data) ? data : [data];
  return deadline(
    new Promise((resolve) => {
      const chunks = [];
      let timer;
      let done = false;
      const finish = (closed) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        resolve({ buf: Buffer.concat(chunks), closed, silent: chunks.length === 0, ms: performance.now() - started });
      };
      const arm = (ms) => {
        clearTimeout(timer);
        timer = setTimeout(() => finish(false), ms);
      };
      socket.on('data', (c) => {
        chunks.push(c);
        arm(idleMs);
      });
      socket.on('end', () => finish(true));
      socket.on('close', () => finish(true));
      socket.on('error', () => finish(true));
      (async () => {
        for (const part of parts) {
          if (done) return;
          socket.write(part, () => {});
          if (gapMs) await sleep(gapMs);
        }
        if (chunks.length === 0) arm(firstByteMs);
      })();
    }),
    firstByteMs + idleMs + parts.length * gapMs + 60000,
    'raw exchange',
  );
}

/**
 * A POST of `mib` MiB of `byte` as request parts (for Conn.request and
 * fetchOnce): one 1 MiB buffer written `mib` times, so a large upload costs the
 * client no allocation or copy that would stall the other clients of its process.
 */
export function bigPost(target, mib, byte, { chunked = false } = {}) {
  const block = Buffer.alloc(1024 * 1024, byte);
  const head = Buffer.from(`POST ${target} HTTP/1.1\r\nHost: localhost\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${mib * block.length}`}\r\n\r\n`, 'latin1');
  if (!chunked) return [head, ...Array(mib).fill(block)];
  const size = Buffer.from(`${block.length.toString(16)}\r\n`, 'latin1');
  const crlf = Buffer.from('\r\n', 'latin1');
  return [head, ...Array.from({ length: mib }, () => [size, block, crlf]).flat(), Buffer.from('0\r\n\r\n', 'latin1')];
}

/** A GET request's bytes with a local Host header (the Host check refuses other names). */
export function get(target, { method = 'GET', headers = {}, body } = {}) {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: localhost', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  return body === undefined ? head : Buffer.concat([head, Buffer.from(body)]);
}

/** One request on a fresh connection, parsed. */
export async function fetchOnce(port, data, { head = false, timeout = 15000 } = {}) {
  let conn;
  try {
    conn = await Conn.open(port);
  } catch (err) {
    return { error: `connect: ${err.message}` };
  }
  try {
    return await conn.request(data, { head, timeout });
  } finally {
    conn.destroy();
  }
}

// ---------------------------------------------------------------- latency probe

/**
 * Normal clients during an attack: a GET of `path` on a fresh connection
 * every `intervalMs`, until stop() (or `maxCount`). Each must answer 200 with
 * `expectBody`; latencies go to the category.
 */
export function startProbe(cat, port, { path = '/hello.txt', expectBody, intervalMs = 50, maxCount = 5000, timeout = 20000 } = {}) {
  let stopped = false;
  let count = 0;
  const loop = (async () => {
    while (!stopped && count < maxCount) {
      count++;
      const t0 = performance.now();
      const r = await fetchOnce(port, get(path), { timeout });
      const ms = performance.now() - t0;
      if (r.error) cat.fail(`probe GET ${path}: ${r.error}`);
      else if (cat.check(r.status === 200, `probe GET ${path} answered ${r.status}`)) {
        if (expectBody !== undefined) cat.check(r.body.toString() === expectBody, `probe GET ${path}: wrong body`);
        cat.latencies.push(Math.round(ms * 10) / 10);
      }
      if (!stopped) await sleep(intervalMs);
    }
  })();
  const probe = {
    stop: async () => {
      stopped = true;
      await deadline(loop, timeout + 5000, 'probe stop');
    },
  };
  (cat.probes ??= []).push(probe);
  return probe;
}

// ---------------------------------------------------------------- leak checks

/** Strings that show a server leaked internals: a stack trace or node internals. */
export function internalsShown(text, rootPath) {
  if (rootPath && text.includes(rootPath)) return `the filesystem path ${rootPath}`;
  if (/node:internal|\n\s+at .+:\d+:\d+\)?/.test(text)) return 'a stack trace';
  return null;
}

// ---------------------------------------------------------------- sites

/** A shell CGI script (executable). Its children should carry "$0" in argv so /proc can find them. */
export const sh = (body) => ({ content: `#!/bin/sh\n${body}\n`, mode: 0o755 });
/** A python CGI script (executable). */
export const py = (body) => ({ content: `#!/usr/bin/python3\n${body}\n`, mode: 0o755 });
/** A child that sleeps for ever with the script's path in its argv (so leftovers are visible). */
export const SLEEPER = `/usr/bin/python3 -c 'import time; time.sleep(1000)' "$0"`;
export const HELLO = 'Hello from the stress root.\n';

/**
 * A fresh temporary tree BASE/ with the served root BASE/www inside it (so the
 * root has a parent and a sibling to attack). `outside` is written under BASE,
 * `www` under the root (hello.txt is always there, for probes). Script
 * processes are found by the marker BASE/www/cgi-bin/, which the server's own
 * command line does not contain. Everything is removed when the category ends.
 */
export function makeSite(cat, prefix, { www = {}, outside = {} } = {}) {
  const base = realpathSync(tempDir(`scriptserve-stress-${prefix}-`));
  (cat.dirs ??= []).push(base);
  const root = join(base, 'www');
  mkdirSync(root);
  writeTree(base, outside);
  writeTree(root, { 'hello.txt': HELLO, ...www });
  const scripts = join(root, 'cgi-bin');
  mkdirSync(scripts, { recursive: true });
  const marker = scripts + '/';
  (cat.markers ??= []).push(marker);
  return { base, root, scripts, marker };
}

/** Environment for a server child: the caller's, with a private TMPDIR (to see request-body spool files). */
export function serverEnv(cat, extra = {}) {
  const tmp = realpathSync(tempDir('scriptserve-stress-tmp-'));
  (cat.dirs ??= []).push(tmp);
  return { env: { ...process.env, TMPDIR: tmp, ...extra }, tmp };
}

/**
 * Entries of a directory. In a server's TMPDIR, the warm Python fork server's
 * socket directory (`scriptserve-warm-*`) lives as long as the server and is
 * not a leftover, so it is left out.
 */
export const listDir = (dir) => {
  try {
    return readdirSync(dir).filter((name) => !name.startsWith('scriptserve-warm-'));
  } catch {
    return [];
  }
};

/**
 * One request of each kind the category will make, so that what Node opens
 * lazily (the static cache's inotify descriptor, the first child's pipes) is
 * in the descriptor baseline; then the steady count.
 */
export async function warmUp(srv, paths = []) {
  for (const p of ['/hello.txt', '/', ...paths]) await fetchOnce(srv.port, typeof p === 'string' ? get(p) : p);
  return steadyFds(srv);
}
