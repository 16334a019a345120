import { isAbsolute } from 'node:path';
import type { RunningScript, RunOptions } from '../supervise.js';
import { NotSent } from './handshake.js';
import { HelperProcess } from './helper-process.js';
import { awaitSpawnedPid } from './spawn-handshake.js';

/**
 * Cold runs through the spawn helper's posix_spawn (config.spawnHelper): the
 * same program, arguments, environment, working directory, session and
 * signal dispositions as child_process.spawn would give, at a fraction of
 * the cost of Node forking itself. It never waits: a helper that is still
 * starting (it starts with the first script) or down leaves the request to
 * child_process.spawn, and so does one that provably started nothing.
 */
export class SpawnHelper {
  private readonly helper: HelperProcess;
  private identityWarned = false;

  constructor(
    /** Absolute argv of the helper's interpreter and flags (config.spawnHelper). */
    interpreter: readonly string[],
    /** The allow-listed environment scripts inherit: the helper starts with it. */
    env: Readonly<Record<string, string>>,
    cwd: string,
    private readonly log: (message: string) => void,
  ) {
    this.helper = new HelperProcess({
      job: 'spawn',
      name: 'helper',
      interpreter,
      preload: [],
      env,
      cwd,
      log,
      handshake: awaitSpawnedPid,
      mayGiveUp: true,
      fallback: 'scripts start with child_process.spawn',
    });
  }

  /** Stop the helper. Scripts already running finish on their own. */
  close(): void {
    this.helper.close();
  }

  /** The running script, or null when the caller should spawn it itself. */
  async tryRun(options: RunOptions): Promise<RunningScript | null> {
    // child_process.spawn searches PATH for a bare name; the helper runs absolute paths only.
    if (!isAbsolute(options.argv[0]!)) return null;
    if (!this.helper.isReady) {
      this.helper.ensureStarted();
      return null;
    }
    // The helper's children get the user and groups it started with; after the
    // server changed its own, only child_process.spawn gives scripts the new ones.
    if (this.helper.identityChanged()) {
      if (!this.identityWarned) {
        this.identityWarned = true;
        this.log('the server changed its user or groups after the spawn helper started; scripts start with child_process.spawn');
      }
      return null;
    }
    try {
      return await this.helper.run({ argv: options.argv, cwd: options.cwd, env: options.env }, options);
    } catch (err) {
      if (err instanceof NotSent) return null;
      throw err;
    }
  }
}
