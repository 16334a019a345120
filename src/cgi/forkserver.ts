import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { drainStderr, GroupSupervisor, type RunningScript, type RunOptions } from './run.js';

/** Deadline for the fork server to report the child's pid once a request is sent. */
export const FORK_TIMEOUT_MS = 5000;
/** Restart delay after a fork server dies, doubled on each failure in a row, up to RESTART_MAX_MS. */
export const RESTART_MIN_MS = 100;
export const RESTART_MAX_MS = 5000;
/** Failed starts in a row after which the spawn helper is no longer restarted (the warm fork server always is). */
export const SPAWN_HELPER_MAX_FAILURES = 5;
/** Room reserved in the fork server's argv for a child's cold command line (what ps shows). */
const ARGV_ROOM_BYTES = 4096;
/** How often a child is looked for once its fork server is gone (nobody is left to report its exit). */
const ORPHAN_POLL_MS = 100;
const FORK_SERVER = fileURLToPath(new URL('./forkserver.py', import.meta.url));

/** A request the fork server never acted on: no script started, so running it with child_process.spawn is safe. */
export class NotSent extends Error {}

/** A request the fork server has, waiting for its child's pid and the `exit` line written after reaping it. */
interface Pending {
  /** The child's pid, once it is known. */
  pid?: number;
  /** Its fork server died before the pid was known: nobody will report this exit. */
  orphaned?: boolean;
  /** Spawn requests: the control pipe's `spawned` (a pid) or `failed` (a NotSent) line, or the fork server's death. */
  started?: (result: number | Error) => void;
  readonly settle: (status: readonly [number | null, string | null]) => void;
}

export interface ForkServerOptions {
  /** `fork`: the warm fork server (warm.ts); `spawn`: the spawn helper of cold runs (spawner.ts). */
  readonly mode: 'fork' | 'spawn';
  /** Absolute argv of its interpreter and flags. */
  readonly interpreter: readonly string[];
  readonly preload: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly log: (message: string) => void;
}

/** What a child of the fork server gets: its pid, or (spawn) the proof that none started. */
export type ForkRequest =
  | { readonly kind: 'fork'; readonly body: Record<string, unknown> }
  | { readonly kind: 'spawn'; readonly body: { readonly argv: readonly string[]; readonly cwd: string; readonly env: Record<string, string> } };

const live = new Set<ForkServer>();
let exitHookInstalled = false;

/**
 * One forkserver.py process and the protocol to it: a Unix socket in a
 * private directory, three connections per request (the child's stdin,
 * stdout and stderr), and a control pipe (the process's stdout) for `ready`
 * and for each child's pid and exit status. It is restarted when it dies,
 * with a backoff when it keeps dying. It serves two kinds of request:
 * `fork` (warm Python, warm.ts) and `spawn` (any cold run, with posix_spawn).
 */
export class ForkServer {
  private child: ChildProcess | null = null;
  private dir = '';
  private socketPath = '';
  private readyWaiters: ((ok: boolean) => void)[] = [];
  /** The running fork server's requests that wait for their pid or exit status, by request id. */
  private pending = new Map<string, Pending>();
  private ready = false;
  private closed = false;
  private started = false;
  private failures = 0;
  /**
   * Request ids: a secret per-server prefix and a counter. Only the server's
   * process may talk to the fork server (SO_PEERCRED), but a forked child
   * inherits its memory; an id must not be guessable from outside either.
   */
  private readonly idPrefix = randomBytes(12).toString('hex');
  private nextId = 0;

  /** Who the server process was (user, group, groups) when the running fork server started: its children are that too. */
  private startedAs = '';

  constructor(private readonly options: ForkServerOptions) {}

  /** Has the server process changed its user or groups since this fork server started (a library user dropping privileges)? */
  identityChanged(): boolean {
    return this.startedAs !== '' && this.startedAs !== processIdentity();
  }

  /** True once the fork server has said `ready` (and until it dies); a spawn helper, `ready spawn`. */
  get isReady(): boolean {
    return this.ready;
  }

  /** Start the process unless it runs already (a lazy user calls this on first need). */
  ensureStarted(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.dir = mkdtempSync(join(tmpdir(), 'scriptserve-warm-'));
    this.socketPath = join(this.dir, 's');
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const server of live) server.close();
      });
    }
    this.start();
  }

  /** Stop the fork server and remove its socket directory. Scripts already running finish on their own. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    live.delete(this);
    this.settleReady(false);
    if (this.child?.pid !== undefined && this.child.exitCode === null) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Resolves true once ready, false when it is closed or not ready within `waitMs`. */
  whenReady(waitMs: number): Promise<boolean> {
    this.ensureStarted();
    if (this.ready) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolveReady) => {
      const timer = setTimeout(() => done(false), waitMs);
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        resolveReady(ok);
      };
      this.readyWaiters.push(done);
    });
  }

  /**
   * Have the fork server start a child for one request. Rejects with NotSent
   * when it provably started nothing (the caller may then spawn the script
   * itself), with another error when that cannot be known (500).
   */
  async run(request: ForkRequest, options: RunOptions): Promise<RunningScript> {
    const id = `${this.idPrefix}${(++this.nextId).toString(36)}`;
    const sockets = (['in', 'out', 'err'] as const).map((role) => {
      const socket = connect(this.socketPath);
      socket.write(`${id} ${role}\n`);
      return socket;
    });
    const [input, output, errors] = sockets as [Socket, Socket, Socket];
    // Registered before the request goes out: the exit line (on another channel) may beat the pid.
    const table = this.pending;
    let settle!: Pending['settle'];
    const status = new Promise<readonly [number | null, string | null]>((resolveStatus) => (settle = resolveStatus));
    const pending: Pending = { settle };
    table.set(id, pending);
    input.write(JSON.stringify(request.body) + '\n');
    let pid: number;
    try {
      pid = await (request.kind === 'fork' ? awaitForkedPid(input, sockets) : awaitSpawnedPid(input, sockets, pending));
    } catch (err) {
      table.delete(id);
      throw err;
    }
    pending.pid = pid;
    // The fork server died after starting it but before its pid was read here.
    if (pending.orphaned) settleWhenGone(pid, () => settle([null, null]));
    const group = new GroupSupervisor(pid, options.timeoutMs);
    const exited = status.then(([exit, signal]) => group.finished(exit, signal));
    // What child_process does when a child it spawned exits: stdin is destroyed,
    // and stdout and stderr are resumed (flushStdio), so that a stream its reader
    // gave up on (a 502 after bad headers) drains to its end and closes instead
    // of holding its descriptor with unread bytes forever.
    void exited.then(() => {
      input.destroy();
      process.nextTick(() => {
        for (const stream of [output, errors]) if (stream.readable) stream.resume();
      });
    });
    return group.running({ stdin: input, stdout: output, stderr: errors }, options.onStderr, exited);
  }

  private start(): void {
    const { mode, interpreter, preload, env, cwd, log } = this.options;
    const padding = 'x'.repeat(mode === 'fork' ? ARGV_ROOM_BYTES : 1);
    const args = [...interpreter.slice(1), FORK_SERVER, this.socketPath, preload.join(','), String(process.pid), mode, padding];
    const started = Date.now();
    let child: ChildProcess;
    try {
      // LD_BIND_NOW: every symbol is bound at start, so no forked child writes the
      // shared lookup tables (each such page a copy-on-write fault; 12-15 fewer per
      // request). It is gone from the children's environment, which is the request's.
      child = spawn(interpreter[0]!, args, {
        cwd,
        env: mode === 'fork' ? { ...env, LD_BIND_NOW: '1' } : env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      this.scheduleRestart(started, `cannot start the fork server: ${(err as Error).message}`);
      return;
    }
    this.child = child;
    this.startedAs = processIdentity();
    const table = (this.pending = new Map());
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as Socket).unref?.();
    // The control pipe (its stdout): `ready`, then per request `spawned ID PID` or
    // `failed ID WHY` (spawn requests), and `exit ID CODE SIGNAL` once the child is reaped.
    let partial = '';
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!.slice(-4096);
      for (const line of lines) this.controlLine(table, line);
    });
    drainStderr(child.stderr!, log, Infinity);
    child.stdin!.on('error', () => {});
    child.once('error', (err) => log(`fork server: ${err.message}`));
    child.once('close', (code, signal) => {
      // No status will come for the children it started: each is settled, with
      // no status, once its process is gone (it goes on running meanwhile, its
      // group still under the timeout). One with no pid yet is marked orphaned
      // (see awaitForkedPid and awaitSpawnedPid for what its request does).
      for (const pending of table.values()) {
        if (pending.pid !== undefined) settleWhenGone(pending.pid, () => pending.settle([null, null]));
        else {
          pending.orphaned = true;
          pending.started?.(new Error('the fork server died while starting the script'));
        }
      }
      table.clear();
      if (this.child !== child) return;
      this.child = null;
      this.ready = false;
      if (this.closed) return;
      this.scheduleRestart(started, `fork server exited (${signal ?? 'exit ' + code})`);
    });
  }

  private controlLine(table: Map<string, Pending>, line: string): void {
    const space = line.indexOf(' ');
    const word = space < 0 ? line : line.slice(0, space);
    if (word === 'exit') {
      const m = /^exit (\S+) (-|\d+) (-|SIG\w+)$/.exec(line);
      if (!m) return;
      table.get(m[1]!)?.settle([m[2] === '-' ? null : Number(m[2]), m[3] === '-' ? null : m[3]!]);
      table.delete(m[1]!);
    } else if (word === 'spawned') {
      const m = /^spawned (\S+) (\d+)$/.exec(line);
      const pending = m ? table.get(m[1]!) : undefined;
      if (!pending) return;
      pending.pid = Number(m![2]);
      pending.started?.(pending.pid);
    } else if (word === 'failed') {
      const rest = line.slice(space + 1);
      const id = rest.slice(0, rest.indexOf(' '));
      const pending = table.get(id);
      if (!pending) return;
      table.delete(id);
      pending.started?.(new NotSent(rest.slice(id.length + 1)));
    } else if (line === (this.options.mode === 'spawn' ? 'ready spawn' : 'ready') && !this.ready) {
      this.ready = true;
      this.settleReady(true);
    }
  }

  private scheduleRestart(started: number, why: string): void {
    // A server that lived a while gets restarted at once; one that keeps dying backs off.
    this.failures = Date.now() - started > 10_000 ? 0 : this.failures + 1;
    // The spawn helper only saves time: one that cannot stay up is given up on, once.
    if (this.options.mode === 'spawn' && this.failures >= SPAWN_HELPER_MAX_FAILURES) {
      this.options.log(`${why}; gave up after ${this.failures} failed starts: scripts start with child_process.spawn`);
      return;
    }
    this.options.log(`${why}; restarting`);
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.max(0, this.failures - 1));
    setTimeout(() => {
      if (!this.closed) this.start();
    }, this.failures === 0 ? 0 : delay).unref();
  }

  private settleReady(ok: boolean): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w(ok);
  }
}

/** The server process's real and effective user and group, and its supplementary groups. */
function processIdentity(): string {
  return `${process.getuid?.()}:${process.geteuid?.()}:${process.getgid?.()}:${process.getegid?.()}:${process.getgroups?.().join(',')}`;
}

/**
 * The end of either wait for a pid: the first outcome wins, FORK_TIMEOUT_MS is
 * the deadline, and a failure closes all three connections.
 */
function oneOutcome(
  sockets: readonly Socket[],
  resolvePid: (pid: number) => void,
  rejectPid: (err: Error) => void,
): { fail: (err: Error) => void; succeed: (pid: number) => void } {
  let settled = false;
  const timer = setTimeout(() => fail(new Error('the fork server did not answer')), FORK_TIMEOUT_MS);
  const fail = (err: Error): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    for (const s of sockets) s.destroy();
    rejectPid(err);
  };
  const succeed = (pid: number): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    resolvePid(pid);
  };
  return { fail, succeed };
}

/** Shared by both waits: a connection that never connected means the request was never complete (NotSent). */
function watchSockets(sockets: readonly Socket[], fail: (err: Error) => void): void {
  for (const s of sockets) {
    let connected = false;
    s.once('connect', () => (connected = true));
    s.on('error', (err) => {
      if (!connected) fail(new NotSent(`cannot connect to the fork server: ${err.message}`));
    });
  }
}

/**
 * Read the first line on `in`, then leave the rest of it to be read and
 * dropped (after that line, whatever comes is the script writing to its stdin).
 */
function firstLine(input: Socket, onLine: (line: string) => void, fail: (err: Error) => void): void {
  let pending = '';
  const onData = (chunk: Buffer): void => {
    pending += chunk.toString('latin1');
    const nl = pending.indexOf('\n');
    if (nl < 0) {
      if (pending.length > 4096) fail(new Error('the fork server sent a malformed reply'));
      return;
    }
    input.off('data', onData);
    input.resume();
    onLine(pending.slice(0, nl));
  };
  input.on('data', onData);
}

/**
 * A forked (warm) child: wait for `pid N` on `in`. The child writes that line
 * before anything else and holds `in` as its stdin, so `in` closing without
 * it proves no child runs the script (NotSent), and so does a connection that
 * failed to connect at all: the fork server forks only once all three have
 * arrived. A fork server that does not answer within FORK_TIMEOUT_MS may
 * still fork later, so that is an error (500), never a cold retry that could
 * run the script twice.
 */
function awaitForkedPid(input: Socket, sockets: readonly Socket[]): Promise<number> {
  return new Promise((resolvePid, rejectPid) => {
    const { fail, succeed } = oneOutcome(sockets, resolvePid, rejectPid);
    watchSockets(sockets, fail);
    firstLine(
      input,
      (line) => {
        if (line.startsWith('pid ') && /^\d+$/.test(line.slice(4))) succeed(Number(line.slice(4)));
        else if (line.startsWith('error ')) {
          // The fork failed: nothing ran, so the caller may run the script cold.
          fail(new NotSent(line.slice(6)));
        } else fail(new Error(`the fork server sent a malformed reply: ${line.slice(0, 80)}`));
      },
      fail,
    );
    input.once('close', () => fail(new NotSent('the fork server closed the connection')));
  });
}

/**
 * A spawned child: its pid comes on the control pipe (`spawned`), or why none
 * started (`failed`, NotSent). The fork server writes `spawning` on `in`
 * before it spawns, so `in` closing before that line proves nothing started
 * (NotSent) even when the fork server died; its death after that line leaves
 * a child that may exist with no pid known, an error (500).
 */
function awaitSpawnedPid(input: Socket, sockets: readonly Socket[], pending: Pending): Promise<number> {
  return new Promise((resolvePid, rejectPid) => {
    let announced = false;
    let serverGone: Error | null = null;
    const { fail, succeed } = oneOutcome(sockets, resolvePid, rejectPid);
    pending.started = (result) => {
      if (typeof result === 'number') succeed(result);
      else if (result instanceof NotSent || announced) fail(result);
      else serverGone = result; // decided by `in`: its close (nothing started) or the `spawning` line
    };
    watchSockets(sockets, fail);
    firstLine(
      input,
      (line) => {
        if (line !== 'spawning') fail(new Error(`the fork server sent a malformed reply: ${line.slice(0, 80)}`));
        else if (serverGone) fail(serverGone);
        else announced = true;
      },
      fail,
    );
    input.once('close', () => {
      if (!announced) fail(new NotSent('the fork server closed the connection'));
    });
  });
}

/**
 * Call `settle` once process `pid` has ended: no such process, or a zombie
 * (its new parent, init or a subreaper, has not reaped it yet).
 */
function settleWhenGone(pid: number, settle: () => void): void {
  const check = (): void => {
    readFile(`/proc/${pid}/stat`, 'latin1').then(
      // The state follows the command name, which ends at the last ')'.
      (stat) => (stat[stat.lastIndexOf(')') + 2] === 'Z' ? settle() : later()),
      () => settle(),
    );
  };
  const later = (): void => void setTimeout(check, ORPHAN_POLL_MS).unref();
  check();
}
