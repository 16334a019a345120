import { spawn, type ChildProcess } from 'node:child_process';
import { constants, mkdtempSync, rmSync } from 'node:fs';
import { access, open, readFile, stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';
import { formatMessage } from '../log.js';
import { drainStderr, GroupSupervisor, type RunningScript, type RunOptions } from './run.js';

/** How long a request waits for a fork server that is (re)starting before it runs cold instead. */
export const WARM_START_WAIT_MS = 3000;
/** Deadline for the fork server to report the child's pid once a request is sent. */
export const WARM_FORK_TIMEOUT_MS = 5000;
/** Restart delay after a fork server dies, doubled on each failure in a row, up to WARM_RESTART_MAX_MS. */
export const WARM_RESTART_MIN_MS = 100;
export const WARM_RESTART_MAX_MS = 5000;
/** The kernel reads this much of a script to find its `#!` line (BINPRM_BUF_SIZE). */
const SHEBANG_BYTES = 256;
/** Room reserved in the fork server's argv for a child's cold command line (what ps shows). */
const ARGV_ROOM_BYTES = 4096;
const FORK_SERVER = fileURLToPath(new URL('./forkserver.py', import.meta.url));

/** A request the fork server never received: the script did not start, so running it cold is safe. */
class NotSent extends Error {}

/** A request the fork server has, waiting for the `exit` line it writes on its stdout after reaping the child. */
interface PendingExit {
  /** The child's pid, once its `pid` line came. */
  pid?: number;
  /** Its fork server died before the pid was known: nobody will report this exit. */
  orphaned?: boolean;
  readonly settle: (status: readonly [number | null, string | null]) => void;
}

/** How often a child is looked for once its fork server is gone (nobody is left to report its exit). */
const ORPHAN_POLL_MS = 100;

interface ShebangEntry {
  readonly key: string;
  /** The command line a cold run shows (what Python sees as sys.orig_argv), or null when it would not run warm. */
  readonly cmdline: readonly string[] | null;
}

const live = new Set<WarmPython>();
let exitHookInstalled = false;

/**
 * Warm Python (issue 7): a fork server started once with the interpreter a
 * cold run would use forks one child per request, and the child makes itself
 * a fresh `python3 script.py` process (see forkserver.py). Scripts whose
 * interpreter differs from the fork server's, command routes, and every
 * request that the fork server provably did not take (it is down or
 * restarting, it could not fork, a connection to it failed) run cold.
 */
export class WarmPython {
  private child: ChildProcess | null = null;
  private readonly dir: string;
  private readonly socketPath: string;
  private readyWaiters: ((ok: boolean) => void)[] = [];
  /** The running fork server's requests that wait for their exit status, by request id. */
  private exits = new Map<string, PendingExit>();
  private ready = false;
  private closed = false;
  private failures = 0;
  private readonly shebangs = new Map<string, ShebangEntry>();
  private readonly byResolution = new WeakMap<object, readonly string[] | null>();
  /**
   * Request ids: a secret per-server prefix and a counter. Scripts run as the
   * server's user and can reach the socket, so an id must not be guessable:
   * it is what ties a request's three connections together.
   */
  private readonly idPrefix = randomBytes(12).toString('hex');
  private nextId = 0;

  constructor(
    private readonly config: Pick<Config, 'root' | 'log' | 'logFormat' | 'warmInterpreter' | 'warmPreload'>,
    /** The allow-listed environment scripts inherit (ScriptPool.inherited): the fork server starts with it, as a cold run would. */
    private readonly inherited: Readonly<Record<string, string>>,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'scriptserve-warm-'));
    this.socketPath = join(this.dir, 's');
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', () => {
        for (const warm of live) warm.close();
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
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Run the script warm when a cold run would use the fork server's interpreter;
   * null means "run it cold" (another interpreter, a route, no fork server).
   */
  async tryRun(options: RunOptions): Promise<RunningScript | null> {
    const cmdline = await this.memoCmdline(options);
    if (!cmdline || !(await this.whenReady())) return null;
    try {
      return await this.fork(options, cmdline);
    } catch (err) {
      if (err instanceof NotSent) return null;
      throw err;
    }
  }

  private log(message: string): void {
    this.config.log?.(formatMessage('warm python', message, this.config.logFormat));
  }

  private start(): void {
    const prefix = this.config.warmInterpreter!;
    const args = [...prefix.slice(1), FORK_SERVER, this.socketPath, this.config.warmPreload.join(','), String(process.pid), 'x'.repeat(ARGV_ROOM_BYTES)];
    const started = Date.now();
    let child: ChildProcess;
    try {
      // The environment and working directory of a cold run, so the interpreter starts up the same way.
      // LD_BIND_NOW: every symbol is bound at start, so no child writes the shared
      // lookup tables (each such page a copy-on-write fault; 12-15 fewer per request).
      // It is gone from the children's environment, which is the request's.
      child = spawn(prefix[0]!, args, {
        cwd: this.config.root,
        env: { ...this.inherited, LD_BIND_NOW: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      });
    } catch (err) {
      this.log(`cannot start the fork server: ${(err as Error).message}`);
      this.scheduleRestart(started);
      return;
    }
    this.child = child;
    const exits = (this.exits = new Map());
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as Socket).unref?.();
    // The fork server's control pipe (its stdout): `ready`, then one `exit ID CODE SIGNAL` line per reaped child.
    let partial = '';
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!.slice(-4096);
      for (const line of lines) {
        const m = /^exit (\S+) (-|\d+) (-|SIG\w+)$/.exec(line);
        if (m) {
          exits.get(m[1]!)?.settle([m[2] === '-' ? null : Number(m[2]), m[3] === '-' ? null : m[3]!]);
          exits.delete(m[1]!);
        } else if (line === 'ready' && !this.ready) {
          this.ready = true;
          this.settleReady(true);
        }
      }
    });
    drainStderr(child.stderr!, (line) => this.log(line), Infinity);
    child.stdin!.on('error', () => {});
    child.once('error', (err) => this.log(`fork server: ${err.message}`));
    child.once('close', (code, signal) => {
      // No status will come for the children it forked: each is settled, with
      // no status, once its process is gone (it goes on running meanwhile, its
      // group still under the timeout). One with no pid yet never ran: its
      // request fails over to a cold run (awaitPid).
      for (const pending of exits.values()) {
        if (pending.pid !== undefined) settleWhenGone(pending.pid, () => pending.settle([null, null]));
        else pending.orphaned = true;
      }
      exits.clear();
      if (this.child !== child) return;
      this.child = null;
      this.ready = false;
      if (this.closed) return;
      this.log(`fork server exited (${signal ?? 'exit ' + code}); restarting`);
      this.scheduleRestart(started);
    });
  }

  private scheduleRestart(started: number): void {
    // A server that lived a while gets restarted at once; one that keeps dying backs off.
    this.failures = Date.now() - started > 10_000 ? 0 : this.failures + 1;
    const delay = Math.min(WARM_RESTART_MAX_MS, WARM_RESTART_MIN_MS * 2 ** Math.max(0, this.failures - 1));
    setTimeout(() => {
      if (!this.closed) this.start();
    }, this.failures === 0 ? 0 : delay).unref();
  }

  private settleReady(ok: boolean): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w(ok);
  }

  private whenReady(): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolveReady) => {
      const timer = setTimeout(() => done(false), WARM_START_WAIT_MS);
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.readyWaiters = this.readyWaiters.filter((w) => w !== done);
        resolveReady(ok);
      };
      this.readyWaiters.push(done);
    });
  }

  /**
   * coldCmdline, remembered per resolved script while the static cache keeps
   * that resolution (it drops it on any change in the script's directory, so
   * an edited `#!` line is read again).
   */
  private async memoCmdline(options: RunOptions): Promise<readonly string[] | null> {
    const key = options.resolution;
    const known = key ? this.byResolution.get(key) : undefined;
    if (known !== undefined) return known;
    const cmdline = await this.coldCmdline(options.argv, options.env.PATH ?? '');
    if (key) this.byResolution.set(key, cmdline);
    return cmdline;
  }

  /**
   * The command line of a cold run when it is the fork server's interpreter
   * with the same flags; null otherwise. `[interp, ...flags, script]` comes
   * from an --interpreter mapping; `[script]` runs by its `#!` line, read like
   * the kernel does and cached by the file's identity and change time.
   */
  private async coldCmdline(argv: readonly string[], path: string): Promise<readonly string[] | null> {
    const prefix = this.config.warmInterpreter!;
    if (argv.length > 1) return sameArgs(argv.slice(0, -1), prefix) ? argv : null;
    const script = argv[0]!;
    let key: string;
    try {
      const st = await stat(script);
      key = `${st.dev}:${st.ino}:${st.ctimeMs}:${st.size}:${path}`;
    } catch {
      return null;
    }
    const cached = this.shebangs.get(script);
    if (cached?.key === key) return cached.cmdline;
    const cmdline = await shebangCmdline(script, path, prefix);
    if (this.shebangs.size > 10_000) this.shebangs.clear();
    this.shebangs.set(script, { key, cmdline });
    return cmdline;
  }

  private async fork(options: RunOptions, cmdline: readonly string[]): Promise<RunningScript> {
    const id = `${this.idPrefix}${(++this.nextId).toString(36)}`;
    const script = options.argv[options.argv.length - 1]!;
    const request = {
      script,
      cwd: options.cwd,
      env: options.env,
      cmdline,
      // What ps shows: the cold command line, NUL-terminated, ready to write (see show_cmdline).
      title: `${cmdline.join(' ')}\0`,
      comm: basename(options.argv.length > 1 ? cmdline[0]! : script),
      // A resolution is given only when no symlink leads to the script: its directory is then what realpath gives.
      realdir: options.resolution ? options.cwd : undefined,
    };
    const sockets = (['in', 'out', 'err'] as const).map((role) => {
      const socket = connect(this.socketPath);
      socket.write(`${id} ${role}\n`);
      return socket;
    });
    const [input, output, errors] = sockets as [Socket, Socket, Socket];
    // Registered before the request goes out: the exit line (on another channel) may beat the pid line.
    const exits = this.exits;
    let settle!: PendingExit['settle'];
    const status = new Promise<readonly [number | null, string | null]>((resolveStatus) => (settle = resolveStatus));
    const pending: PendingExit = { settle };
    exits.set(id, pending);
    input.write(JSON.stringify(request) + '\n');
    let pid: number;
    try {
      pid = await awaitPid(input, sockets);
    } catch (err) {
      exits.delete(id);
      throw err;
    }
    pending.pid = pid;
    // The fork server died after forking it but before its pid line was read here.
    if (pending.orphaned) settleWhenGone(pid, () => settle([null, null]));
    const group = new GroupSupervisor(pid, options.timeoutMs);
    const exited = status.then(([exit, signal]) => group.finished(exit, signal));
    return group.running({ stdin: input, stdout: output, stderr: errors }, options.onStderr, exited);
  }
}

/**
 * Wait for `pid N` on the control connection. The child writes that line
 * before anything else and holds `in` as its stdin, so `in` closing without
 * it proves no child runs the script: the caller may then run it cold
 * (NotSent). So does a connection that failed to connect at all: the fork
 * server forks only once all three have arrived. A fork server that does not
 * answer within WARM_FORK_TIMEOUT_MS may still fork later, so that is an
 * error (500), never a cold retry that could run the script twice.
 */
function awaitPid(input: Socket, sockets: readonly Socket[]): Promise<number> {
  return new Promise((resolvePid, rejectPid) => {
    let settled = false;
    let pending = '';
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
      rejectPid(err);
    };
    const timer = setTimeout(() => fail(new Error('the fork server did not answer')), WARM_FORK_TIMEOUT_MS);
    for (const s of sockets) {
      let connected = false;
      s.once('connect', () => (connected = true));
      s.on('error', (err) => {
        if (!connected) fail(new NotSent(`cannot connect to the fork server: ${err.message}`));
      });
    }
    // Control lines come on `in` only until the pid: after it, what arrives
    // is whatever the script writes to its stdin, read and dropped.
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString('latin1');
      const nl = pending.indexOf('\n');
      if (nl < 0) {
        if (pending.length > 4096) fail(new Error('the fork server sent a malformed reply'));
        return;
      }
      const line = pending.slice(0, nl);
      input.off('data', onData);
      input.resume();
      if (line.startsWith('pid ') && /^\d+$/.test(line.slice(4))) {
        settled = true;
        clearTimeout(timer);
        resolvePid(Number(line.slice(4)));
      } else if (line.startsWith('error ')) {
        // The fork failed: nothing ran, so the caller may run the script cold.
        fail(new NotSent(line.slice(6)));
      } else fail(new Error(`the fork server sent a malformed reply: ${line.slice(0, 80)}`));
    };
    input.on('data', onData);
    input.once('close', () => fail(new NotSent('the fork server closed the connection')));
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

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * What the kernel would run for a script's `#!` line, as the command line
 * Python would see; null unless it is the fork server's interpreter and flags.
 * `#!/usr/bin/env NAME` finds NAME in the PATH the script gets.
 */
async function shebangCmdline(script: string, path: string, prefix: readonly string[]): Promise<readonly string[] | null> {
  let head: string;
  try {
    await access(script, constants.X_OK);
    const handle = await open(script, 'r');
    try {
      const buf = Buffer.alloc(SHEBANG_BYTES);
      const { bytesRead } = await handle.read(buf, 0, SHEBANG_BYTES, 0);
      head = buf.subarray(0, bytesRead).toString('latin1');
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
  const nl = head.indexOf('\n');
  if (!head.startsWith('#!') || nl < 0) return null;
  const line = head.slice(2, nl).replace(/^[ \t]+/, '').replace(/[ \t\r]+$/, '');
  const space = line.search(/[ \t]/);
  const interpreter = space < 0 ? line : line.slice(0, space);
  const arg = space < 0 ? '' : line.slice(space).replace(/^[ \t]+/, '');
  if (!isAbsolute(interpreter)) return null;
  if (basename(interpreter) === 'env') {
    if (arg === '' || /[ \t]/.test(arg) || arg.startsWith('-')) return null;
    const found = arg.includes('/') ? null : await findInPath(arg, path, script);
    return found !== null && sameArgs([found], prefix) ? [arg, script] : null;
  }
  const args = arg === '' ? [interpreter] : [interpreter, arg];
  return sameArgs(args, prefix) ? [...args, script] : null;
}

/** execvp's search: the first executable regular file named `name` in PATH (relative entries from the script's directory). */
async function findInPath(name: string, path: string, script: string): Promise<string | null> {
  const cwd = script.slice(0, script.lastIndexOf('/')) || '/';
  for (const dir of path.split(delimiter)) {
    const candidate = resolve(cwd, dir === '' ? '.' : dir, name);
    try {
      if ((await stat(candidate)).isFile()) {
        await access(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      /* next */
    }
  }
  return null;
}
