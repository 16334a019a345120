import { watch, type FSWatcher } from 'node:fs';
import type { Server } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { CONFIG_FILE_NAME, type Config } from './config.js';
import { reloadServer } from './server.js';
import { onReload } from './signals.js';

/** Edits come as bursts of events (write, rename, chmod): one reload after the burst settles. */
const SETTLE_MS = 150;

/**
 * Make the config file reloadable: by SIGHUP (signals.ts runs the hook and
 * logs its one line) and, with `watch`, whenever the file changes. A bad new
 * file is refused with a line naming the error, and the old routes stay;
 * changed keys that only a restart applies are named. Returns the function
 * that stops watching.
 */
export function reloadConfigOn(server: Server, config: Config, watchFile: boolean, who = ''): () => void {
  const say = (line: string): void => void process.stderr.write(`scriptserve${who}: ${line}\n`);
  const reload = (): void => {
    const restart = reloadServer(server);
    if (restart.length > 0) say(`config file: ${restart.join(', ')} changed; that takes a restart (routes were reloaded)`);
  };
  const unregister = onReload('config file', reload);
  if (!watchFile) return unregister;
  const file = config.source.file.__file ?? (config.source.options.configFile ? resolve(config.source.options.configFile) : join(config.root, CONFIG_FILE_NAME));
  // The directory is watched, not the file: editors replace a file by renaming a new one over it.
  let watcher: FSWatcher | null = null;
  let timer: NodeJS.Timeout | undefined;
  try {
    watcher = watch(dirname(file), (_event, name) => {
      if (name !== null && name !== basename(file)) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        try {
          reload();
          say('config file changed: reloaded');
        } catch (err) {
          say(`config file changed: reload refused, the old config stays (${(err as Error).message})`);
        }
      }, SETTLE_MS);
    });
    watcher.unref();
  } catch (err) {
    say(`cannot watch the config file: ${(err as Error).message}`);
  }
  return () => {
    clearTimeout(timer);
    watcher?.close();
    unregister();
  };
}
