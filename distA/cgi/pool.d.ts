import type { ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import type { RunningScript } from './run.js';
import { WarmPython } from './warm.js';
/** How long a request may wait for a script slot before it gets 503. */
export declare const QUEUE_WAIT_MS = 10000;
/** Retry-After (seconds) sent with 503 when every slot is taken. */
export declare const RETRY_AFTER_S = 1;
/**
 * Caps how many scripts run at once (`maxScripts`). A request that finds every
 * slot taken waits in a bounded FIFO queue; a full queue, or a wait longer
 * than QUEUE_WAIT_MS, gets 503 with Retry-After. A free slot is granted
 * synchronously, so the cap adds no latency when the server is not busy.
 */
export declare class ScriptPool {
    private readonly config;
    private active;
    private readonly queue;
    private readonly running;
    /** The warm-Python fork server when `warmPython` is on (issue 7), else null. */
    readonly warm: WarmPython | null;
    /**
     * The part of every script's environment taken from the server's own
     * (PATH, LANG, LC_*, TZ, --pass-env names), read once at start-up like the
     * interpreters: reading process.env goes through getenv for every name.
     */
    readonly inherited: Readonly<Record<string, string>>;
    constructor(config: Config);
    /** Stop the warm-Python fork server, if any (the server is closing). */
    close(): void;
    /** Wait for a slot; resolves with its release function (call it exactly once). */
    acquire(res: ServerResponse): Promise<() => void>;
    /** Remember a started script until it exits, then free its slot. */
    track(script: RunningScript, release: () => void): void;
    /** SIGKILL every running script's group at once (the server exits now). */
    killAll(): void;
    /** Resolves when no script is running. */
    idle(): Promise<void>;
    private releaser;
    private remove;
}
