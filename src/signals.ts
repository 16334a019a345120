/**
 * Every signal scriptserve handles, in one place: what SIGINT, SIGTERM and
 * SIGHUP mean, for a server process (cli-main.ts) and for the primary of
 * `--workers` (cluster.ts), which passes them on.
 *
 * SIGINT and SIGTERM stop: the first closes gracefully, a second stops at
 * once. SIGHUP depends on how the server was started. From a terminal (stdin
 * or stdout is a TTY) it is a hang-up, the terminal is gone, and it stops the
 * server like SIGTERM, so that nothing is left holding the port. Under a
 * service manager (no TTY) it is the conventional "reload your configuration"
 * (nginx, sshd, systemd's `ExecReload=kill -HUP $MAINPID`): the hooks
 * registered with {@link onReload} run (the config file's routes:
 * reload-config.ts), one line is logged, and the server
 * keeps serving.
 */
import { isatty } from 'node:tty';

/** What SIGHUP does in this process. */
type HangUpMeaning = 'stop' | 'reload';

/** Decided once, at start-up: a terminal that hangs up later still is one then. */
let hangUp: HangUpMeaning | undefined;

/** `stop` when stdin or stdout is a terminal, `reload` otherwise. */
function hangUpMeaning(): HangUpMeaning {
  hangUp ??= isatty(0) || isatty(1) ? 'stop' : 'reload';
  return hangUp;
}

/** What a process does on each signal. */
export interface SignalActions {
  /** SIGINT, SIGTERM, and SIGHUP from a terminal. */
  readonly stop: (signal: NodeJS.Signals) => void;
  /** SIGHUP without a terminal. */
  readonly reload: () => void;
}

/** Install the handlers of SIGINT, SIGTERM and SIGHUP (see the module comment). */
export function handleSignals(actions: SignalActions): void {
  const meaning = hangUpMeaning();
  process.on('SIGINT', () => actions.stop('SIGINT'));
  process.on('SIGTERM', () => actions.stop('SIGTERM'));
  process.on('SIGHUP', () => {
    if (meaning === 'reload') return actions.reload();
    // Writes to a hung-up terminal fail with EIO; the access lines of the
    // requests still finishing must not turn the graceful stop into a crash.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
    actions.stop('SIGHUP');
  });
}

/** A step of a reload: its name, for the log line, and what it does. */
interface ReloadHook {
  readonly name: string;
  readonly run: () => void | Promise<void>;
}

const reloadHooks: ReloadHook[] = [];

/**
 * Register something SIGHUP reloads (the config file's routes; later,
 * certificates). Returns the function that unregisters it.
 */
export function onReload(name: string, run: () => void | Promise<void>): () => void {
  const hook = { name, run };
  reloadHooks.push(hook);
  return () => {
    const i = reloadHooks.indexOf(hook);
    if (i >= 0) reloadHooks.splice(i, 1);
  };
}

/**
 * Run every reload hook, each on its own: one that fails is named in the
 * line and the others still run, and the server keeps what it had. Resolves
 * to the one line to log.
 */
async function reloadAll(): Promise<string> {
  const done: string[] = [];
  const failed: string[] = [];
  for (const hook of [...reloadHooks]) {
    try {
      await hook.run();
      done.push(hook.name);
    } catch (err) {
      failed.push(`${hook.name} failed (${(err as Error).message})`);
    }
  }
  if (done.length === 0 && failed.length === 0) return 'SIGHUP: reloaded (nothing to reload)';
  return `SIGHUP: ${[done.length ? `reloaded ${done.join(', ')}` : '', ...failed].filter(Boolean).join('; ')}`;
}

/** What stopping a server means: close gracefully, or at once. */
export interface ServerStop {
  /** Stop accepting, let what runs finish; resolves when done. */
  readonly graceful: () => Promise<void>;
  /** Kill what still runs (scripts); the process exits right after. */
  readonly now: () => void;
}

/**
 * A server process's stop levels: 1 closes gracefully, then exits 0; 2 and
 * up kill scripts and exit 0 at once. Levels only rise, so a signal that
 * reached a worker both directly (a terminal signals its whole process group)
 * and from its primary counts once. Returns the function that raises the level.
 */
function stopLevels(stop: ServerStop): (to: number) => void {
  let level = 0;
  return (to) => {
    if (to <= level) return;
    const first = level === 0;
    level = to;
    if (level >= 2) {
      stop.now();
      process.exit(0);
    }
    if (first) void stop.graceful().then(() => process.exit(0));
  };
}

/**
 * The signals of a process that serves: each stop signal raises the stop
 * level by one; a reload runs the hooks and logs one line to stderr (`who`
 * names a worker, whose primary forwards SIGHUP to each). Returns the stop and
 * reload actions, for the messages of a primary.
 */
export function handleServerSignals(stop: ServerStop, who = ''): { stopAt: (to: number) => void; reload: () => void } {
  const stopAt = stopLevels(stop);
  let signals = 0;
  const reload = (): void => {
    void reloadAll().then((line) => process.stderr.write(`scriptserve${who}: ${line}\n`));
  };
  handleSignals({ stop: () => stopAt(++signals), reload });
  return { stopAt, reload };
}
