import type { Config } from '../../config.js';
import { formatMessage } from '../../log.js';
import type { RunningScript, RunOptions } from '../supervise.js';
import { SpawnHelper } from './helper.js';
import { platformRefusal } from './python-gate.js';
import { spawnScript } from './spawn.js';
import { WarmPython } from './warm.js';

/** What a script is: a CGI script (it may run warm) or a command route (never warm). */
export type ScriptKind = 'script' | 'route';

/**
 * The ways of starting scripts, decided once at start-up: warm Python when
 * config.warmInterpreter is set (config.ts has checked it), the spawn helper
 * when config.spawnHelper is and this platform can run it (else one log line
 * says why), child_process.spawn always. A request asks only the way its
 * script belongs to: the fork server for a script a cold run would start
 * with its interpreter, else the spawn helper or spawn. A fork server that
 * is (re)starting, or provably started nothing, leaves the request to the
 * cold way (the spawn helper, else child_process.spawn), as a spawn helper in
 * that state leaves it to child_process.spawn.
 */
export class ScriptStarter {
  private readonly warm: WarmPython | null;
  private readonly helper: SpawnHelper | null;
  /** How a script that does not run warm starts: bound once, so a request pays for no choice. */
  private readonly cold: (options: RunOptions) => Promise<RunningScript>;

  constructor(config: Config, inherited: Readonly<Record<string, string>>) {
    this.warm = config.warmInterpreter ? new WarmPython(config, inherited) : null;
    const log = (message: string): void => config.log?.(formatMessage('spawn helper', message, config.logFormat));
    const refused = config.spawnHelper ? platformRefusal() : null;
    if (refused) log(`${refused}; scripts start with child_process.spawn`);
    const helper = (this.helper = config.spawnHelper && !refused ? new SpawnHelper(config.spawnHelper, inherited, config.root, log) : null);
    this.cold = helper ? async (options) => (await helper.tryRun(options)) ?? spawnScript(options) : spawnScript;
  }

  /** Start a script the way it belongs to. Rejects when the program cannot be started (the caller answers 500). */
  async start(options: RunOptions, kind: ScriptKind): Promise<RunningScript> {
    if (kind === 'script' && this.warm) {
      const cmdline = await this.warm.cmdlineFor(options);
      if (cmdline) return (await this.warm.tryRun(options, cmdline)) ?? this.cold(options);
    }
    return this.cold(options);
  }

  /** Stop the helpers (the server is closing). Scripts already running finish on their own. */
  close(): void {
    this.warm?.close();
    this.helper?.close();
  }
}
