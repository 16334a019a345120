import type { Config } from '../config.js';
import { type RunningScript, type RunOptions } from './run.js';
/** How long a request waits for a fork server that is (re)starting before it runs cold instead. */
export declare const WARM_START_WAIT_MS = 3000;
/** Deadline for the fork server to report the child's pid once a request is sent. */
export declare const WARM_FORK_TIMEOUT_MS = 5000;
/** Restart delay after a fork server dies, doubled on each failure in a row, up to WARM_RESTART_MAX_MS. */
export declare const WARM_RESTART_MIN_MS = 100;
export declare const WARM_RESTART_MAX_MS = 5000;
/**
 * Warm Python (issue 7): a fork server started once with the interpreter a
 * cold run would use forks one child per request, and the child makes itself
 * a fresh `python3 script.py` process (see forkserver.py). Scripts whose
 * interpreter differs from the fork server's, command routes, and every
 * request that the fork server provably did not take (it is down or
 * restarting, it could not fork, a connection to it failed) run cold.
 */
export declare class WarmPython {
    private readonly config;
    /** The allow-listed environment scripts inherit (ScriptPool.inherited): the fork server starts with it, as a cold run would. */
    private readonly inherited;
    private child;
    private readonly dir;
    private readonly socketPath;
    private readyWaiters;
    /** The running fork server's requests that wait for their exit status, by request id. */
    private exits;
    private ready;
    private closed;
    private failures;
    private readonly shebangs;
    private readonly byResolution;
    /**
     * Request ids: a secret per-server prefix and a counter. Scripts run as the
     * server's user and can reach the socket, so an id must not be guessable:
     * it is what ties a request's three connections together.
     */
    private readonly idPrefix;
    private nextId;
    constructor(config: Pick<Config, 'root' | 'log' | 'logFormat' | 'warmInterpreter' | 'warmPreload'>, 
    /** The allow-listed environment scripts inherit (ScriptPool.inherited): the fork server starts with it, as a cold run would. */
    inherited: Readonly<Record<string, string>>);
    /** Stop the fork server and remove its socket directory. Scripts already running finish on their own. */
    close(): void;
    /**
     * Run the script warm when a cold run would use the fork server's interpreter;
     * null means "run it cold" (another interpreter, a route, no fork server).
     */
    tryRun(options: RunOptions): Promise<RunningScript | null>;
    private log;
    private start;
    private scheduleRestart;
    private settleReady;
    private whenReady;
    /**
     * coldCmdline, remembered per resolved script while the static cache keeps
     * that resolution (it drops it on any change in the script's directory, so
     * an edited `#!` line is read again).
     */
    private memoCmdline;
    /**
     * The command line of a cold run when it is the fork server's interpreter
     * with the same flags; null otherwise. `[interp, ...flags, script]` comes
     * from an --interpreter mapping; `[script]` runs by its `#!` line, read like
     * the kernel does and cached by the file's identity and change time.
     */
    private coldCmdline;
    private fork;
}
