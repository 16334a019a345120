import cluster, { type Address, type Worker } from 'node:cluster';
import { handleSignals } from './signals.js';

/** What the primary needs to print the banner once every worker listens. */
export interface PrimaryOptions {
  readonly workers: number;
  /** Called once, with the address the workers share (a port, or a Unix socket path), when the first one listens. */
  readonly onListening: (address: Address) => void;
}

/**
 * The primary of `--workers N`: forks N copies of this CLI that share the
 * listening socket (node:cluster) and nothing else, so every limit
 * (`--max-scripts`, the cache) applies per worker. The primary serves no
 * request. It passes stop signals (signals.ts: SIGINT, SIGTERM, and SIGHUP
 * from a terminal) on to the workers as a stop level over IPC (1: close
 * gracefully, 2 and up: exit at once), not as a signal: Ctrl-C in a terminal
 * signals the whole process group, so each worker already got that same
 * SIGINT, and a forwarded copy would count as a second one and skip the grace
 * period. A SIGHUP without a terminal (a service manager's reload) is passed
 * on as a reload message: each worker reloads and keeps serving. It restarts
 * a worker that dies while serving, and exits 1 if a worker cannot start
 * (port in use, bad address), 0 once all have stopped after a signal.
 */
export function runPrimary(options: PrimaryOptions): void {
  let stopping = false;
  let announced = false;
  const live = new Set<Worker>();
  const listeningWorkers = new WeakSet<Worker>();
  /** Workers told to reload before they listened, whose handler may not have been there yet. */
  const reloadWhileStarting = new Set<Worker>();

  const fork = (): void => {
    const worker = cluster.fork();
    live.add(worker);
    // Errors of its channel (a send racing its exit) change nothing: its 'exit' decides.
    worker.on('error', () => {});
    worker.once('listening', (address) => {
      listeningWorkers.add(worker);
      // A stop sent while this worker was still starting reached no listener
      // (it installs its own in the tick it calls listen): send it again now.
      if (level > 0) tell(worker, level, 'SIGTERM');
      // So may a reload have been; if it did arrive, the worker knows its number and skips the copy.
      if (reloadWhileStarting.delete(worker)) sendReload(worker);
      if (!announced) {
        announced = true;
        options.onListening(address);
      }
    });
    worker.once('exit', (code) => {
      live.delete(worker);
      reloadWhileStarting.delete(worker);
      if (stopping) {
        if (live.size === 0) process.exit(0);
        return;
      }
      if (!listeningWorkers.has(worker)) {
        // It could not start: the others cannot either. Its own message is already on stderr.
        for (const other of live) other.process.kill('SIGKILL');
        process.exit(code || 1);
      }
      fork();
    });
  };

  let level = 0;
  /** Send a stop level; a worker whose channel is gone (it is exiting) gets the signal itself. */
  const tell = (worker: Worker, to: number, signal: NodeJS.Signals): void => {
    const kill = (): void => {
      if (!worker.isDead()) worker.process.kill(signal);
    };
    if (!worker.isConnected()) return kill();
    // send() on a channel that closes meanwhile reports through this callback, not by throwing.
    const message: StopMessage = { scriptserveStop: to };
    worker.send(message, (err: Error | null) => {
      if (err) kill();
    });
  };
  const forward = (signal: NodeJS.Signals): void => {
    stopping = true;
    level++;
    if (live.size === 0) process.exit(0);
    for (const worker of live) tell(worker, level, signal);
  };
  let reloads = 0;
  const sendReload = (worker: Worker): void => {
    const message: ReloadMessage = { scriptserveReload: reloads };
    // A worker whose channel is gone is exiting: nothing to reload there.
    if (worker.isConnected()) worker.send(message, () => {});
  };
  const reload = (): void => {
    reloads++;
    for (const worker of live) {
      if (!worker.isDead() && !listeningWorkers.has(worker)) reloadWhileStarting.add(worker);
      sendReload(worker);
    }
  };
  handleSignals({ stop: forward, reload });
  for (let i = 0; i < options.workers; i++) fork();
}

/** What the primary sends its workers on a stop signal: how far to stop (1 graceful, 2 now). */
export interface StopMessage {
  readonly scriptserveStop: number;
}

/** What the primary sends its workers on a reload (SIGHUP without a terminal): its number, 1 and up. */
export interface ReloadMessage {
  readonly scriptserveReload: number;
}

/** A worker's side of the primary's messages. */
export interface PrimaryMessageActions {
  /**
   * Each stop level the primary sends. The caller takes the highest of these
   * and its own signal count, so a signal that reached the worker both
   * directly (the terminal's process group) and through the primary counts once.
   */
  readonly stopAt: (level: number) => void;
  /** Each reload the primary sends, once (it may send one twice to a worker that was starting). */
  readonly reload: () => void;
}

/** In a worker, act on the stop levels and reloads the primary sends. */
export function onPrimaryMessages(actions: PrimaryMessageActions): void {
  let reloaded = 0;
  process.on('message', (message: unknown) => {
    const m = message as Partial<StopMessage & ReloadMessage> | null;
    const level = m?.scriptserveStop;
    if (typeof level === 'number' && Number.isInteger(level) && level > 0) actions.stopAt(level);
    const reload = m?.scriptserveReload;
    if (typeof reload === 'number' && reload > reloaded) {
      reloaded = reload;
      actions.reload();
    }
  });
}

/** Is this process a worker forked by {@link runPrimary}? */
export function isWorker(): boolean {
  return cluster.isWorker;
}
