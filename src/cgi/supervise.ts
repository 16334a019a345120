import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ScriptOutcome } from '../log.js';
import { killGroup } from './kill-group.js';

// The life of a started script, whichever way it started (child_process.spawn,
// the spawn helper, a warm fork): its process group's timeout and stop, and
// its stderr drained to the log. Everything in src/cgi/start/ builds on this;
// this imports none of it.

/** Time between SIGTERM and SIGKILL when a script is stopped. */
export const KILL_GRACE_MS = 2000;
/** Most stderr bytes of one run that reach the log; the rest is read and dropped so the script never blocks. */
export const MAX_STDERR_LOG_BYTES = 64 * 1024;

/** Why the server stopped a script. */
export type StopReason = 'timeout' | 'client-gone' | 'error';

/** A started script: its pipes, and a promise of its end. Its reader resumes stdout (it may start paused). */
export interface RunningScript {
  /** Its stdin, to stream the body into; null when the body went with the start (RunOptions.stdin). */
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<ScriptOutcome>;
  /** Why the server stopped it, if it did. */
  readonly stopReason: StopReason | null;
  /** Stop the whole process group: SIGTERM now, SIGKILL after the grace period. Idempotent. */
  stop(reason: StopReason): void;
  /** SIGKILL the whole process group now (the server is exiting). */
  kill(): void;
}

/** What a script is started with, whichever way starts it (src/cgi/start/). */
export interface RunOptions {
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  /**
   * The whole request body, when the server holds it before the script
   * starts: the starter delivers it and closes stdin (RunningScript.stdin is
   * then null). Otherwise the caller streams the body into RunningScript.stdin.
   */
  readonly stdin?: Buffer;
  readonly timeoutMs: number;
  /** Receives stderr one line at a time, bounded. */
  readonly onStderr: (line: string) => void;
  /**
   * The script's resolution, given only when no symlink leads to the script
   * (so `cwd` is its real directory) and the static cache may keep it: the
   * same object comes back until a change in the script's directory drops it,
   * so facts read from the script file may be remembered against it.
   */
  readonly resolution?: object;
}
/**
 * The life of a script's process group, the same for cold and warm runs: the
 * timeout, stop (SIGTERM to the group, SIGKILL after KILL_GRACE_MS), and, when
 * the main process exits, SIGKILL to whatever it left in its group.
 */
export class GroupSupervisor {
  private readonly started = performance.now();
  private reason: StopReason | null = null;
  private done = false;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly timeout: NodeJS.Timeout;

  constructor(private readonly pgid: number, timeoutMs: number) {
    this.timeout = setTimeout(() => this.stop('timeout'), timeoutMs);
    this.timeout.unref();
  }

  get stopReason(): StopReason | null {
    return this.reason;
  }

  stop(reason: StopReason): void {
    if (this.reason !== null || this.done) return;
    this.reason = reason;
    this.signal('SIGTERM');
    this.killTimer = setTimeout(() => this.signal('SIGKILL'), KILL_GRACE_MS);
    this.killTimer.unref();
  }

  /** The main process is gone: stop the clocks and reap what it left behind. */
  exited(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timeout);
    clearTimeout(this.killTimer);
    this.signal('SIGKILL');
  }

  /** {@link exited}, and the outcome to report: exit code or signal, and the time since the group started. */
  finished(exit: number | null, signal: string | null): ScriptOutcome {
    this.exited();
    return { exit, signal, ms: performance.now() - this.started };
  }

  /**
   * The RunningScript a caller gets for this group, its streams wired the same
   * for cold and warm runs: stdin errors ignored (EPIPE: the script did not
   * read its input; its response still counts), a stdout error stops the
   * group, stderr drained to the log (unless its starter does that: the
   * helper forwards it, and `stderr` is null).
   */
  running(
    stdio: { readonly stdin: Writable | null; readonly stdout: Readable; readonly stderr: Readable | null },
    onStderr: (line: string) => void,
    exited: Promise<ScriptOutcome>,
  ): RunningScript {
    const group = this;
    const { stdin, stdout } = stdio;
    stdin?.on('error', () => {});
    stdout.on('error', () => group.stop('error'));
    if (stdio.stderr) drainStderr(stdio.stderr, onStderr);
    return {
      stdin,
      stdout,
      exited,
      get stopReason() {
        return group.reason;
      },
      stop: (reason) => group.stop(reason),
      kill: () => group.signal('SIGKILL'),
    };
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.pgid > 0) killGroup(this.pgid, signal);
  }
}

/** Where a script's stderr goes, chunk by chunk: its lines to the log, up to a byte budget. */
export interface StderrLog {
  write(chunk: Buffer): void;
  /** The stream ended: the last partial line, and a note when bytes were dropped. */
  end(): void;
}

/**
 * A StderrLog that logs at most `maxBytes` of a run in lines (a script run's
 * share; the fork server's own stderr, which lives as long as it does,
 * passes Infinity). Past the share, each chunk is only noted, never decoded:
 * a script that floods stderr costs the server a read per chunk and no more.
 */
export function stderrLog(onLine: (line: string) => void, maxBytes = MAX_STDERR_LOG_BYTES): StderrLog {
  const decoder = new StringDecoder('utf8');
  let logged = 0;
  let partial = '';
  let truncated = false;
  return {
    write(chunk) {
      if (logged >= maxBytes) {
        truncated = true;
        return;
      }
      const room = maxBytes - logged;
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      logged += piece.length;
      const lines = (partial + decoder.write(piece)).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
      if (piece.length < chunk.length) truncated = true;
    },
    end() {
      partial += decoder.end();
      if (partial) onLine(partial);
      partial = '';
      if (truncated) onLine(`[stderr truncated after ${maxBytes} bytes]`);
      truncated = false;
    },
  };
}

/** Read stderr to the end (so the script never blocks on a full pipe) into a StderrLog. */
export function drainStderr(stderr: Readable, onLine: (line: string) => void, maxBytes = MAX_STDERR_LOG_BYTES): void {
  const log = stderrLog(onLine, maxBytes);
  stderr.on('data', (chunk: Buffer) => log.write(chunk));
  stderr.on('error', () => {});
  stderr.on('end', () => log.end());
}
