/** What the primary needs to print the banner once every worker listens. */
export interface PrimaryOptions {
    readonly workers: number;
    /** Called once, with the port the workers share, when the first one listens. */
    readonly onListening: (port: number) => void;
}
/**
 * The primary of `--workers N`: forks N copies of this CLI that share the
 * listening socket (node:cluster) and nothing else, so every limit
 * (`--max-scripts`, the cache) applies per worker. The primary serves no
 * request. It passes SIGINT/SIGTERM on to the workers as a stop level over
 * IPC (1: close gracefully, 2 and up: exit at once), not as a signal: Ctrl-C
 * in a terminal signals the whole process group, so each worker already got
 * that same SIGINT, and a forwarded copy would count as a second one and skip
 * the grace period. It restarts a worker that dies
 * while serving, and exits 1 if a worker cannot start (port in use, bad
 * address), 0 once all have stopped after a signal.
 */
export declare function runPrimary(options: PrimaryOptions): void;
/** What the primary sends its workers on SIGINT/SIGTERM: how far to stop (1 graceful, 2 now). */
export interface StopMessage {
    readonly scriptserveStop: number;
}
/**
 * In a worker, call `onLevel` with each stop level the primary sends. The
 * caller takes the highest of these and its own signal count, so a signal
 * that reached the worker both directly (the terminal's process group) and
 * through the primary counts once.
 */
export declare function onStopMessage(onLevel: (level: number) => void): void;
/** Is this process a worker forked by {@link runPrimary}? */
export declare function isWorker(): boolean;
