import type { Readable, Writable } from 'node:stream';
import type { ScriptOutcome } from '../log.js';
import type { WarmPython } from './warm.js';
/** Time between SIGTERM and SIGKILL when a script is stopped. */
export declare const KILL_GRACE_MS = 2000;
/** Most stderr bytes of one run that reach the log; the rest is read and dropped so the script never blocks. */
export declare const MAX_STDERR_LOG_BYTES: number;
/** Why the server stopped a script. */
export type StopReason = 'timeout' | 'client-gone' | 'error';
/** A started script: its pipes, and a promise of its end. */
export interface RunningScript {
    readonly stdin: Writable;
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
export interface RunOptions {
    readonly argv: readonly string[];
    readonly env: Record<string, string>;
    readonly cwd: string;
    readonly timeoutMs: number;
    /** Receives stderr one line at a time, bounded. */
    readonly onStderr: (line: string) => void;
    /** Warm Python (issue 7): scripts it accepts run in a child of its fork server. Default none. */
    readonly warm?: WarmPython | null;
    /**
     * The script's resolution, given only when no symlink leads to the script
     * (so `cwd` is its real directory) and the static cache may keep it: the
     * same object comes back until a change in the script's directory drops it,
     * so facts read from the script file may be remembered against it.
     */
    readonly resolution?: object;
}
/**
 * Start a script: argv array, no shell, the environment given and nothing
 * else, in its own process group (detached) so that a timeout, a vanished
 * client or shutdown can signal the script and every child it forked.
 *
 * When the script's main process exits, whatever it left behind in its group
 * is killed too: a background child must not keep stdout open (and the
 * response hanging) or outlive its request. Throws when the program cannot be
 * started (ENOENT, EACCES): the caller answers 500.
 */
export declare function runScript(options: RunOptions): Promise<RunningScript>;
/**
 * The life of a script's process group, the same for cold and warm runs: the
 * timeout, stop (SIGTERM to the group, SIGKILL after KILL_GRACE_MS), and, when
 * the main process exits, SIGKILL to whatever it left in its group.
 */
export declare class GroupSupervisor {
    private readonly pgid;
    private readonly started;
    private reason;
    private done;
    private killTimer;
    private readonly timeout;
    constructor(pgid: number, timeoutMs: number);
    get stopReason(): StopReason | null;
    stop(reason: StopReason): void;
    /** The main process is gone: stop the clocks and reap what it left behind. */
    exited(): void;
    /** {@link exited}, and the outcome to report: exit code or signal, and the time since the group started. */
    finished(exit: number | null, signal: string | null): ScriptOutcome;
    /**
     * The RunningScript a caller gets for this group, its streams wired the same
     * for cold and warm runs: stdin errors ignored (EPIPE: the script did not
     * read its input; its response still counts), a stdout error stops the
     * group, stderr drained to the log.
     */
    running(stdio: {
        readonly stdin: Writable;
        readonly stdout: Readable;
        readonly stderr: Readable;
    }, onStderr: (line: string) => void, exited: Promise<ScriptOutcome>): RunningScript;
    private signal;
}
/**
 * Read stderr to the end (so the script never blocks on a full pipe), logging
 * at most `maxBytes` of it in lines (a script run's share; the fork server's
 * own stderr, which lives as long as it does, passes Infinity).
 */
export declare function drainStderr(stderr: Readable, onLine: (line: string) => void, maxBytes?: number): void;
