import { isAbsolute } from 'node:path';
import { NotSent, type ForkServer } from './forkserver.js';
import type { RunningScript, RunOptions } from './run.js';

/**
 * Cold runs through a fork server's posix_spawn (config.spawnHelper): the
 * same program, arguments, environment, working directory, session and
 * signal dispositions as child_process.spawn would give, at a fraction of
 * the cost of Node forking itself. It never waits: a helper that is still
 * starting (it starts with the first script) or down leaves the request to
 * child_process.spawn, and so does one that provably started nothing.
 */
export class Spawner {
  private identityWarned = false;

  constructor(
    private readonly server: ForkServer,
    private readonly log: (message: string) => void,
  ) {}

  /** The running script, or null when the caller should spawn it itself. */
  async tryRun(options: RunOptions): Promise<RunningScript | null> {
    // child_process.spawn searches PATH for a bare name; the helper runs absolute paths only.
    if (!isAbsolute(options.argv[0]!)) return null;
    if (!this.server.isReady) {
      this.server.ensureStarted();
      return null;
    }
    // The helper's children get the user and groups it started with; after the
    // server changed its own, only child_process.spawn gives scripts the new ones.
    if (this.server.identityChanged()) {
      if (!this.identityWarned) {
        this.identityWarned = true;
        this.log('the server changed its user or groups after the spawn helper started; scripts start with child_process.spawn');
      }
      return null;
    }
    try {
      return await this.server.run({ kind: 'spawn', body: { argv: options.argv, cwd: options.cwd, env: options.env } }, options);
    } catch (err) {
      if (err instanceof NotSent) return null;
      throw err;
    }
  }
}
