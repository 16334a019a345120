import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drainStderr, GroupSupervisor, stderrLog, type RunningScript, type RunOptions, type StderrLog } from '../supervise.js';
import { NotSent, type Handshake, type Pending } from './handshake.js';
import { IdentityAtStart } from './identity.js';
import { parseReadyLine, pythonRefusal } from './python-gate.js';

/** Restart delay after a helper dies, doubled on each failure in a row, up to RESTART_MAX_MS. */
export const RESTART_MIN_MS = 100;
export const RESTART_MAX_MS = 5000;
/** Failed restarts in a row after which a helper that may give up (the spawn helper) is no longer restarted. */
export const MAX_FAILED_RESTARTS = 5;
/** Room reserved in the fork server's argv for a child's cold command line (what ps shows). */
const ARGV_ROOM_BYTES = 4096;
/** How often a child is looked for once its helper is gone (nobody is left to report its exit). */
const ORPHAN_POLL_MS = 100;
/** Most of a control pipe message kept while it arrives (a forwarded stderr chunk is at most 64 KiB). */
const MAX_CONTROL_MESSAGE_BYTES = 1 << 20;
const HELPER_PROGRAM = fileURLToPath(new URL('../python/scriptserve_helper.py', import.meta.url));

export interface HelperProcessOptions {
  /** `fork`: the warm fork server (warm.ts); `spawn`: the spawn helper of cold runs (helper.ts). */
  readonly job: 'fork' | 'spawn';
  /** What its log lines call it (`fork server`, `helper`). */
  readonly name: string;
  /** Absolute argv of its interpreter and flags. */
  readonly interpreter: readonly string[];
  readonly preload: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly log: (message: string) => void;
  /** How a request learns its child's pid (fork-handshake.ts, spawn-handshake.ts). */
  readonly handshake: Handshake;
  /**
   * A helper whose ready line refuses it (an untested interpreter) is always
   * given up on, with one log line. With this flag (the spawn helper: scripts
   * have another way to start) it is also given up on when it dies before its
   * first `ready` or keeps dying; without it (the warm fork server) those
   * deaths are restarted with back-off.
   */
  readonly mayGiveUp: boolean;
  /** What the one log line says scripts do once it is given up on. */
  readonly fallback: string;
}

const live = new Set<HelperProcess>();
let exitHookInstalled = false;

/**
 * One helper process (python/scriptserve_helper.py) and its supervision:
 * start, restart with a backoff, the ready line and its interpreter check,
 * the peer check (has this server changed its user since the helper
 * started?), and the protocol to it (python/scriptserve_loop.py): a Unix
 * socket in a private directory, one connection per request for the
 * request, its body when held whole, and the child's stdout (a second one
 * for its stdin when the body streams), and a control pipe (the process's
 * stdout) for `ready`, each child's pid, its stderr and its exit status.
 * What a request's reply looks like is its job's handshake.
 */
export class HelperProcess {
  private child: ChildProcess | null = null;
  private dir = '';
  private socketPath = '';
  private readyWaiters: ((ok: boolean) => void)[] = [];
  /** The running helper's requests that wait for their pid or exit status, by request id. */
  private pending = new Map<string, Pending>();
  /** Where the running helper's children's stderr goes, by request id, until its end. */
  private stderrs = new Map<string, StderrLog>();
  private ready = false;
  private everReady = false;
  private closed = false;
  private started = false;
  private failures = 0;
  /**
   * Request ids: a secret per-server prefix and a counter. Only the server's
   * process may talk to the helper (SO_PEERCRED), but a forked child inherits
   * its memory; an id must not be guessable from outside either.
   */
  private readonly idPrefix = randomBytes(12).toString('hex');
  private nextId = 0;

  /** Who the server process was (user, group, groups) when the running helper started: its children are that too. */
  private startedAs: IdentityAtStart | null = null;

  constructor(private readonly options: HelperProcessOptions) {}

  /** Has the server process changed its user or groups since this helper started (a library user dropping privileges)? */
  identityChanged(): boolean {
    return this.startedAs?.changed() ?? false;
  }

  /** True once the helper has said `ready` for its job on a tested interpreter (and until it dies). */
  get isReady(): boolean {
    return this.ready;
  }

  /** Start the process unless it runs already or was given up on (a lazy user calls this on first need). */
  ensureStarted(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.dir = mkdtempSync(join(tmpdir(), 'scriptserve-warm-'));
    this.socketPath = join(this.dir, 's');
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const helper of live) helper.close(true);
      });
    }
    this.start();
  }

  /**
   * Stop the helper and remove its socket directory. Scripts already running
   * finish on their own: the helper holds their stdin and stderr, so it takes
   * no request more but lives until the last of them has exited (its stderr
   * still logged). `kill` (this process is exiting) ends it at once.
   */
  close(kill = false): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    live.delete(this);
    this.settleReady(false);
    const child = this.child;
    if (child?.pid !== undefined && child.exitCode === null) {
      try {
        // Its stdin's end is its signal to stop (as when this process dies).
        if (kill) child.kill('SIGKILL');
        else child.stdin?.destroy();
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
   * Have the helper start a child for one request (`body`, the JSON line its
   * job reads). Rejects with NotSent when it provably started nothing (the
   * caller may then spawn the script itself), with another error when that
   * cannot be known (500).
   */
  async run(body: Record<string, unknown>, options: RunOptions): Promise<RunningScript> {
    const id = `${this.idPrefix}${(++this.nextId).toString(36)}`;
    // The body goes with the request when the caller holds it whole; else it streams on `in`.
    const whole = options.stdin;
    body.stdin = whole ? whole.length : null;
    const output = connect(this.socketPath);
    output.write(`${id} out\n${JSON.stringify(body)}\n`);
    if (whole && whole.length > 0) output.write(whole);
    let input: Socket | null = null;
    if (!whole) {
      input = connect(this.socketPath);
      input.write(`${id} in\n`);
    }
    const sockets = input ? [output, input] : [output];
    // Registered before the request goes out: the exit line (on another channel) may beat the pid.
    const table = this.pending;
    let settle!: Pending['settle'];
    const status = new Promise<readonly [number | null, string | null]>((resolveStatus) => (settle = resolveStatus));
    const pending: Pending = { settle };
    table.set(id, pending);
    const stderrs = this.stderrs;
    stderrs.set(id, stderrLog(options.onStderr));
    let pid: number;
    try {
      pid = await this.options.handshake(output, sockets, pending);
    } catch (err) {
      table.delete(id);
      stderrs.delete(id);
      throw err;
    }
    pending.pid = pid;
    // The helper died after starting it but before its pid was read here.
    if (pending.orphaned) settleWhenGone(pid, () => settle([null, null]));
    const group = new GroupSupervisor(pid, options.timeoutMs);
    const exited = status.then(([exit, signal]) => group.finished(exit, signal));
    // What child_process does when a child it spawned exits: stdin is destroyed,
    // and stdout is resumed (flushStdio), so that a stream its reader gave up
    // on (a 502 after bad headers) drains to its end and closes instead of
    // holding its descriptor with unread bytes forever.
    void exited.then(() => {
      input?.destroy();
      process.nextTick(() => {
        if (output.readable) output.resume();
      });
    });
    return group.running({ stdin: input, stdout: output, stderr: null }, options.onStderr, exited);
  }

  private start(): void {
    const { job, interpreter, preload, env, cwd, log } = this.options;
    const padding = 'x'.repeat(job === 'fork' ? ARGV_ROOM_BYTES : 1);
    const args = [...interpreter.slice(1), HELPER_PROGRAM, this.socketPath, preload.join(','), String(process.pid), job, padding];
    const started = Date.now();
    let child: ChildProcess;
    try {
      // LD_BIND_NOW: every symbol is bound at start, so no forked child writes the
      // shared lookup tables (each such page a copy-on-write fault; 12-15 fewer per
      // request). It is gone from the children's environment, which is the request's.
      child = spawn(interpreter[0]!, args, {
        cwd,
        env: job === 'fork' ? { ...env, LD_BIND_NOW: '1' } : env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      this.failed(started, `${this.options.name} cannot start: ${(err as Error).message}`);
      return;
    }
    this.child = child;
    this.startedAs = new IdentityAtStart();
    const table = (this.pending = new Map());
    const stderrs = (this.stderrs = new Map());
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as Socket).unref?.();
    this.readControlPipe(child, table, stderrs);
    drainStderr(child.stderr!, log, Infinity);
    child.stdin!.on('error', () => {});
    child.once('error', (err) => log(`${this.options.name}: ${err.message}`));
    child.once('close', (code, signal) => {
      orphan(table);
      for (const stderr of stderrs.values()) stderr.end();
      stderrs.clear();
      if (this.child !== child) return;
      this.child = null;
      this.ready = false;
      if (this.closed) return;
      this.failed(started, `${this.options.name} exited (${signal ?? 'exit ' + code})`);
    });
  }

  /**
   * The control pipe (its stdout): `ready`, then per request `spawned ID PID`
   * or `failed ID WHY` (spawn requests), `err ID N` with N bytes of the
   * child's stderr after it (and a newline), `errend ID` at that stream's
   * end, and `exit ID CODE SIGNAL` once the child is reaped.
   */
  private readControlPipe(child: ChildProcess, table: Map<string, Pending>, stderrs: Map<string, StderrLog>): void {
    let kept: Buffer | null = null;
    child.stdout!.on('data', (chunk: Buffer) => {
      const data: Buffer = kept === null ? chunk : Buffer.concat([kept, chunk]);
      let at = 0;
      for (let nl = data.indexOf(10, at); nl >= 0; nl = data.indexOf(10, at)) {
        const line = data.toString('latin1', at, nl);
        if (line.startsWith('err ')) {
          const m = /^err (\S+) (\d+)$/.exec(line);
          const end = m ? nl + 1 + Number(m[2]) : nl;
          if (end >= data.length) break; // its bytes (and their newline) are still coming
          if (m) stderrs.get(m[1]!)?.write(data.subarray(nl + 1, end));
          at = end + 1;
          continue;
        }
        this.controlLine(table, stderrs, line);
        at = nl + 1;
      }
      kept = at === data.length ? null : data.subarray(at);
      if (kept !== null && kept.length > MAX_CONTROL_MESSAGE_BYTES) kept = null;
    });
  }

  private controlLine(table: Map<string, Pending>, stderrs: Map<string, StderrLog>, line: string): void {
    const space = line.indexOf(' ');
    const word = space < 0 ? line : line.slice(0, space);
    if (word === 'errend') {
      const id = line.slice(space + 1);
      stderrs.get(id)?.end();
      stderrs.delete(id);
    } else if (word === 'exit') {
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
    } else if (word === 'ready' && !this.ready) {
      this.readyLine(line);
    }
  }

  /** `ready JOB IMPLEMENTATION VERSION`: ready for requests, unless the job cannot run here or the interpreter is untested. */
  private readyLine(line: string): void {
    const { name, job, interpreter } = this.options;
    const ready = parseReadyLine(line);
    if (ready === null) return this.giveUp(`${name} sent a malformed ready line: ${line.slice(0, 80)}`);
    if (ready.job !== job) return this.giveUp(`${interpreter[0]} cannot do the ${name}'s job (see the line before)`);
    const untested = pythonRefusal(ready);
    if (untested !== null) return this.giveUp(`${interpreter[0]}: ${untested}`);
    this.ready = this.everReady = true;
    this.settleReady(true);
  }

  /** It exited or could not start: restart it after a backoff, or give up on it. */
  private failed(started: number, why: string): void {
    // A helper that lived a while gets restarted at once; one that keeps dying backs off.
    this.failures = Date.now() - started > 10_000 ? 0 : this.failures + 1;
    if (this.options.mayGiveUp && !this.everReady) return this.giveUp(`${why} before it was ready`);
    if (this.options.mayGiveUp && this.failures >= MAX_FAILED_RESTARTS) return this.giveUp(`${why}; gave up after ${this.failures} failed starts`);
    this.options.log(`${why}; restarting`);
    const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** Math.max(0, this.failures - 1));
    setTimeout(() => {
      if (!this.closed) this.start();
    }, this.failures === 0 ? 0 : delay).unref();
  }

  /** Stop for good, with the one log line that says why and what scripts do instead. */
  private giveUp(why: string): void {
    this.options.log(`${why}; ${this.options.fallback}`);
    this.close();
  }

  private settleReady(ok: boolean): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w(ok);
  }
}

/**
 * A helper died: no status will come for the children it started. Each is
 * settled, with no status, once its process is gone (it goes on running
 * meanwhile, its group still under the timeout). One with no pid yet is
 * marked orphaned (see the handshakes for what its request does).
 */
function orphan(table: Map<string, Pending>): void {
  for (const pending of table.values()) {
    if (pending.pid !== undefined) settleWhenGone(pending.pid, () => pending.settle([null, null]));
    else {
      pending.orphaned = true;
      pending.started?.(new Error('the helper died while starting the script'));
    }
  }
  table.clear();
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
