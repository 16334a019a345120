import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { basename, delimiter, isAbsolute, resolve } from 'node:path';
import type { Config } from '../../config.js';
import { formatMessage } from '../../log.js';
import type { RunningScript, RunOptions } from '../supervise.js';
import { awaitForkedPid } from './fork-handshake.js';
import { NotSent } from './handshake.js';
import { HelperProcess } from './helper-process.js';

/** How long a request waits for a fork server that is (re)starting before it runs cold instead. */
export const WARM_START_WAIT_MS = 3000;
/** The kernel reads this much of a script to find its `#!` line (BINPRM_BUF_SIZE). */
const SHEBANG_BYTES = 256;

interface ShebangEntry {
  readonly key: string;
  /** The command line a cold run shows (what Python sees as sys.orig_argv), or null when it would not run warm. */
  readonly cmdline: readonly string[] | null;
}

/**
 * Warm Python (issue 7): a fork server started once with the interpreter a
 * cold run would use forks one child per request, and the child makes itself
 * a fresh `python3 script.py` process (see python/scriptserve_warm.py). It
 * serves the scripts a cold run would start with exactly its interpreter and
 * flags (cmdlineFor); every request that the fork server provably did not
 * take (it is down or restarting, it could not fork, a connection to it
 * failed) runs cold.
 */
export class WarmPython {
  private readonly server: HelperProcess;
  private readonly shebangs = new Map<string, ShebangEntry>();
  private readonly byResolution = new WeakMap<object, readonly string[] | null>();

  constructor(
    private readonly config: Pick<Config, 'root' | 'log' | 'logFormat' | 'warmInterpreter' | 'warmPreload'>,
    /** The allow-listed environment scripts inherit (ScriptPool.inherited): the fork server starts with it, as a cold run would. */
    inherited: Readonly<Record<string, string>>,
  ) {
    this.server = new HelperProcess({
      job: 'fork',
      name: 'fork server',
      interpreter: config.warmInterpreter!,
      preload: config.warmPreload,
      env: inherited,
      // The working directory of a cold run, so the interpreter starts up the same way.
      cwd: config.root,
      log: (message) => config.log?.(formatMessage('warm python', message, config.logFormat)),
      handshake: awaitForkedPid,
      mayGiveUp: false,
      fallback: 'scripts run cold',
    });
    this.server.ensureStarted();
  }

  /** Stop the fork server and remove its socket directory. Scripts already running finish on their own. */
  close(): void {
    this.server.close();
  }

  /**
   * Run a script this fork server serves (`cmdline`, from cmdlineFor); null
   * means "run it cold": no fork server became ready within
   * WARM_START_WAIT_MS, or it provably did not start the script.
   */
  async tryRun(options: RunOptions, cmdline: readonly string[]): Promise<RunningScript | null> {
    if (!(await this.server.whenReady(WARM_START_WAIT_MS))) return null;
    const script = options.argv[options.argv.length - 1]!;
    const body = {
      script,
      cwd: options.cwd,
      env: options.env,
      cmdline,
      // What ps shows: the cold command line, NUL-terminated, ready to write (see show_cmdline).
      title: `${cmdline.join(' ')}\0`,
      comm: basename(options.argv.length > 1 ? cmdline[0]! : script),
      // A resolution is given only when no symlink leads to the script: its directory is then what realpath gives.
      realdir: options.resolution ? options.cwd : undefined,
    };
    try {
      return await this.server.run(body, options);
    } catch (err) {
      if (err instanceof NotSent) return null;
      throw err;
    }
  }

  /**
   * The command line of the script's cold run when this fork server serves it
   * (its interpreter and flags), else null. Remembered per resolved script
   * while the static cache keeps that resolution (it drops it on any change
   * in the script's directory, so an edited `#!` line is read again).
   */
  async cmdlineFor(options: RunOptions): Promise<readonly string[] | null> {
    const key = options.resolution;
    const known = key ? this.byResolution.get(key) : undefined;
    if (known !== undefined) return known;
    const cmdline = await this.coldCmdline(options.argv, options.env.PATH ?? '');
    if (key) this.byResolution.set(key, cmdline);
    return cmdline;
  }

  /**
   * The command line of a cold run when it is the fork server's interpreter
   * with the same flags; null otherwise. `[interp, ...flags, script]` comes
   * from an --interpreter mapping; `[script]` runs by its `#!` line, read like
   * the kernel does and cached by the file's identity and change time.
   */
  private async coldCmdline(argv: readonly string[], path: string): Promise<readonly string[] | null> {
    const prefix = this.config.warmInterpreter!;
    if (argv.length > 1) return sameArgs(argv.slice(0, -1), prefix) ? argv : null;
    const script = argv[0]!;
    let key: string;
    try {
      const st = await stat(script);
      key = `${st.dev}:${st.ino}:${st.ctimeMs}:${st.size}:${path}`;
    } catch {
      return null;
    }
    const cached = this.shebangs.get(script);
    if (cached?.key === key) return cached.cmdline;
    const cmdline = await shebangCmdline(script, path, prefix);
    if (this.shebangs.size > 10_000) this.shebangs.clear();
    this.shebangs.set(script, { key, cmdline });
    return cmdline;
  }
}

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * What the kernel would run for a script's `#!` line, as the command line
 * Python would see; null unless it is the fork server's interpreter and flags.
 * `#!/usr/bin/env NAME` finds NAME in the PATH the script gets.
 */
async function shebangCmdline(script: string, path: string, prefix: readonly string[]): Promise<readonly string[] | null> {
  let head: string;
  try {
    await access(script, constants.X_OK);
    const handle = await open(script, 'r');
    try {
      const buf = Buffer.alloc(SHEBANG_BYTES);
      const { bytesRead } = await handle.read(buf, 0, SHEBANG_BYTES, 0);
      head = buf.subarray(0, bytesRead).toString('latin1');
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
  const nl = head.indexOf('\n');
  if (!head.startsWith('#!') || nl < 0) return null;
  const line = head.slice(2, nl).replace(/^[ \t]+/, '').replace(/[ \t\r]+$/, '');
  const space = line.search(/[ \t]/);
  const interpreter = space < 0 ? line : line.slice(0, space);
  const arg = space < 0 ? '' : line.slice(space).replace(/^[ \t]+/, '');
  if (!isAbsolute(interpreter)) return null;
  if (basename(interpreter) === 'env') {
    if (arg === '' || /[ \t]/.test(arg) || arg.startsWith('-')) return null;
    const found = arg.includes('/') ? null : await findInPath(arg, path, script);
    return found !== null && sameArgs([found], prefix) ? [arg, script] : null;
  }
  const args = arg === '' ? [interpreter] : [interpreter, arg];
  return sameArgs(args, prefix) ? [...args, script] : null;
}

/** execvp's search: the first executable regular file named `name` in PATH (relative entries from the script's directory). */
async function findInPath(name: string, path: string, script: string): Promise<string | null> {
  const cwd = script.slice(0, script.lastIndexOf('/')) || '/';
  for (const dir of path.split(delimiter)) {
    const candidate = resolve(cwd, dir === '' ? '.' : dir, name);
    try {
      if ((await stat(candidate)).isFile()) {
        await access(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      /* next */
    }
  }
  return null;
}
