import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { killGroup } from './kill-group.js';
/** Time between SIGTERM and SIGKILL when a script is stopped. */
export const KILL_GRACE_MS = 2000;
/** Most stderr bytes of one run that reach the log; the rest is read and dropped so the script never blocks. */
export const MAX_STDERR_LOG_BYTES = 64 * 1024;
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
export async function runScript(options) {
    const warm = options.warm ? await options.warm.tryRun(options) : null;
    return warm ?? spawnScript(options);
}
function spawnScript(options) {
    const child = spawn(options.argv[0], options.argv.slice(1), {
        cwd: options.cwd,
        env: options.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        windowsHide: true,
    });
    return new Promise((resolveStart, rejectStart) => {
        // pid is set when the fork succeeded; otherwise 'error' follows and nothing runs.
        const group = new GroupSupervisor(child.pid ?? 0, options.timeoutMs);
        const exitedPromise = new Promise((resolveExit) => {
            child.once('exit', (code, signal) => resolveExit(group.finished(code, signal)));
        });
        child.once('error', (err) => {
            group.exited();
            rejectStart(err);
        });
        child.once('spawn', () => resolveStart(group.running(child, options.onStderr, exitedPromise)));
    });
}
/**
 * The life of a script's process group, the same for cold and warm runs: the
 * timeout, stop (SIGTERM to the group, SIGKILL after KILL_GRACE_MS), and, when
 * the main process exits, SIGKILL to whatever it left in its group.
 */
export class GroupSupervisor {
    pgid;
    started = performance.now();
    reason = null;
    done = false;
    killTimer;
    timeout;
    constructor(pgid, timeoutMs) {
        this.pgid = pgid;
        this.timeout = setTimeout(() => this.stop('timeout'), timeoutMs);
        this.timeout.unref();
    }
    get stopReason() {
        return this.reason;
    }
    stop(reason) {
        if (this.reason !== null || this.done)
            return;
        this.reason = reason;
        this.signal('SIGTERM');
        this.killTimer = setTimeout(() => this.signal('SIGKILL'), KILL_GRACE_MS);
        this.killTimer.unref();
    }
    /** The main process is gone: stop the clocks and reap what it left behind. */
    exited() {
        if (this.done)
            return;
        this.done = true;
        clearTimeout(this.timeout);
        clearTimeout(this.killTimer);
        this.signal('SIGKILL');
    }
    /** {@link exited}, and the outcome to report: exit code or signal, and the time since the group started. */
    finished(exit, signal) {
        this.exited();
        return { exit, signal, ms: performance.now() - this.started };
    }
    /**
     * The RunningScript a caller gets for this group, its streams wired the same
     * for cold and warm runs: stdin errors ignored (EPIPE: the script did not
     * read its input; its response still counts), a stdout error stops the
     * group, stderr drained to the log.
     */
    running(stdio, onStderr, exited) {
        const group = this;
        const { stdin, stdout } = stdio;
        stdin.on('error', () => { });
        stdout.on('error', () => group.stop('error'));
        drainStderr(stdio.stderr, onStderr);
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
    signal(signal) {
        if (this.pgid > 0)
            killGroup(this.pgid, signal);
    }
}
/**
 * Read stderr to the end (so the script never blocks on a full pipe), logging
 * at most `maxBytes` of it in lines (a script run's share; the fork server's
 * own stderr, which lives as long as it does, passes Infinity).
 */
export function drainStderr(stderr, onLine, maxBytes = MAX_STDERR_LOG_BYTES) {
    // Buffers, not a string encoding on the stream: once the log's share is
    // spent, each further chunk is only counted, never decoded (a script that
    // floods stderr costs the server a read per chunk and nothing more).
    const decoder = new StringDecoder('utf8');
    let logged = 0;
    let partial = '';
    let truncated = false;
    stderr.on('data', (chunk) => {
        if (logged >= maxBytes) {
            truncated = true;
            return;
        }
        const room = maxBytes - logged;
        const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
        logged += piece.length;
        const lines = (partial + decoder.write(piece)).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines)
            onLine(line);
        if (piece.length < chunk.length)
            truncated = true;
    });
    stderr.on('error', () => { });
    stderr.on('end', () => {
        partial += decoder.end();
        if (partial)
            onLine(partial);
        if (truncated)
            onLine(`[stderr truncated after ${maxBytes} bytes]`);
    });
}
