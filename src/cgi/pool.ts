import type { ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { HttpError } from '../errors.js';
import { formatMessage } from '../log.js';
import { JobBoard } from '../webhook/jobs.js';
import { inheritedVariables } from './env.js';
import { ScriptStarter, type ScriptKind } from './start/choose.js';
import type { RunningScript, RunOptions } from './supervise.js';

/** How long a request may wait for a script slot before it gets 503. */
export const QUEUE_WAIT_MS = 10_000;
/** Retry-After (seconds) sent with 503 when every slot is taken. */
export const RETRY_AFTER_S = 1;

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

const busy = (why: string): HttpError =>
  new HttpError(503, {
    publicMessage: 'Too many scripts are running; try again shortly.',
    logMessage: why,
    headers: { 'Retry-After': String(RETRY_AFTER_S) },
  });

/**
 * Caps how many scripts run at once (`maxScripts`). A request that finds every
 * slot taken waits in a bounded FIFO queue; a full queue, or a wait longer
 * than QUEUE_WAIT_MS, gets 503 with Retry-After. A free slot is granted
 * synchronously, so the cap adds no latency when the server is not busy.
 */
export class ScriptPool {
  private active = 0;
  private readonly queue: Waiter[] = [];
  private readonly running = new Set<RunningScript>();
  /** The ways of starting scripts, chosen at start-up (start/choose.ts). */
  private readonly starter: ScriptStarter;
  /**
   * The part of every script's environment taken from the server's own
   * (PATH, LANG, LC_*, TZ, --pass-env names), read once at start-up like the
   * interpreters: reading process.env goes through getenv for every name.
   */
  readonly inherited: Readonly<Record<string, string>>;
  /** Async webhook jobs: started like command routes and counted among the running scripts, so a graceful stop waits for them. */
  readonly jobs: JobBoard;

  constructor(private readonly config: Config) {
    this.inherited = inheritedVariables({ serverEnv: process.env, passEnv: config.passEnv });
    this.starter = new ScriptStarter(config, this.inherited);
    this.jobs = new JobBoard({
      start: (options) => this.start(options, 'route'),
      track: (script) => this.track(script, () => {}),
      log: (message) => config.log?.(formatMessage('webhook', message, config.logFormat)),
    });
  }

  /**
   * Start a script (`script`: a CGI script, which may run warm; `route`: a
   * command route) the way start-up chose for it. Rejects when the program
   * cannot be started: the caller answers 500.
   */
  start(options: RunOptions, kind: ScriptKind): Promise<RunningScript> {
    return this.starter.start(options, kind);
  }

  /** Stop the warm-Python fork server and the spawn helper, if any (the server is closing). */
  close(): void {
    this.starter.close();
  }

  /** Wait for a slot; resolves with its release function (call it exactly once). */
  acquire(res: ServerResponse): Promise<() => void> {
    if (this.active < this.config.maxScripts) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.queue.length >= this.config.maxQueue) return Promise.reject(busy('script queue full'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          res.off('close', onClose);
          resolve(this.releaser());
        },
        timer: setTimeout(() => {
          this.remove(waiter);
          res.off('close', onClose);
          reject(busy('waited too long for a script slot'));
        }, QUEUE_WAIT_MS),
      };
      const onClose = (): void => {
        clearTimeout(waiter.timer);
        this.remove(waiter);
        reject(new HttpError(503, { logMessage: 'client went away while queued' }));
      };
      res.once('close', onClose);
      this.queue.push(waiter);
    });
  }

  /** Remember a started script until it exits, then free its slot. */
  track(script: RunningScript, release: () => void): void {
    this.running.add(script);
    void script.exited.then(() => {
      this.running.delete(script);
      release();
    });
  }

  /** SIGKILL every running script's group at once (the server exits now). */
  killAll(): void {
    for (const script of this.running) script.kill();
  }

  /** Resolves when no script is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.race([...this.running].map((s) => s.exited));
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      if (next) next.grant();
      else this.active--;
    };
  }

  private remove(waiter: Waiter): void {
    const i = this.queue.indexOf(waiter);
    if (i >= 0) this.queue.splice(i, 1);
  }
}
