import cluster, { type Worker } from 'node:cluster';

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
 * request. It forwards SIGINT/SIGTERM to the workers (a second signal is
 * forwarded too, which makes them exit at once), restarts a worker that dies
 * while serving, and exits 1 if a worker cannot start (port in use, bad
 * address), 0 once all have stopped after a signal.
 */
export function runPrimary(options: PrimaryOptions): void {
  let stopping = false;
  let announced = false;
  const live = new Set<Worker>();

  const fork = (): void => {
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
        if (live.size === 0) process.exit(0);
        return;
      }
      if (!listening) {
        // It could not start: the others cannot either. Its own message is already on stderr.
        for (const other of live) other.process.kill('SIGKILL');
        process.exit(code || 1);
      }
      fork();
    });
  };

  const forward = (signal: NodeJS.Signals): void => {
    stopping = true;
    if (live.size === 0) process.exit(0);
    for (const worker of live) worker.process.kill(signal);
  };
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGTERM', () => forward('SIGTERM'));
  for (let i = 0; i < options.workers; i++) fork();
}

/** Is this process a worker forked by {@link runPrimary}? */
export function isWorker(): boolean {
  return cluster.isWorker;
}
