import cluster from 'node:cluster';
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
export function runPrimary(options) {
    let stopping = false;
    let announced = false;
    const live = new Set();
    const fork = () => {
        const worker = cluster.fork();
        live.add(worker);
        let listening = false;
        worker.once('listening', (address) => {
            listening = true;
            if (!announced) {
                announced = true;
                options.onListening(address.port);
            }
        });
        worker.once('exit', (code) => {
            live.delete(worker);
            if (stopping) {
                if (live.size === 0)
                    process.exit(0);
                return;
            }
            if (!listening) {
                // It could not start: the others cannot either. Its own message is already on stderr.
                for (const other of live)
                    other.process.kill('SIGKILL');
                process.exit(code || 1);
            }
            fork();
        });
    };
    let level = 0;
    const forward = (signal) => {
        stopping = true;
        level++;
        if (live.size === 0)
            process.exit(0);
        const message = { scriptserveStop: level };
        for (const worker of live) {
            try {
                worker.send(message);
            }
            catch {
                worker.process.kill(signal);
            }
        }
    };
    process.on('SIGINT', () => forward('SIGINT'));
    process.on('SIGTERM', () => forward('SIGTERM'));
    for (let i = 0; i < options.workers; i++)
        fork();
}
/**
 * In a worker, call `onLevel` with each stop level the primary sends. The
 * caller takes the highest of these and its own signal count, so a signal
 * that reached the worker both directly (the terminal's process group) and
 * through the primary counts once.
 */
export function onStopMessage(onLevel) {
    process.on('message', (message) => {
        const level = message?.scriptserveStop;
        if (typeof level === 'number' && Number.isInteger(level) && level > 0)
            onLevel(level);
    });
}
/** Is this process a worker forked by {@link runPrimary}? */
export function isWorker() {
    return cluster.isWorker;
}
