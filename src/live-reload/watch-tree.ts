import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { sep } from 'node:path';

/**
 * Most directories watched. Each is one inotify watch; Linux's default limit
 * (fs.inotify.max_user_watches) is 8192 on older kernels and shared with
 * every other program of the user, so a tree larger than this is watched in
 * part, and the owner is told once.
 */
export const MAX_WATCHED_TREE_DIRS = 4096;

/** What a TreeWatcher reports. */
export interface TreeEvents {
  /** Something changed at this absolute path (a file or directory written, created, removed or renamed). */
  readonly changed: (fsPath: string) => void;
  /** Said once, when the tree has more directories than can be watched. */
  readonly warn: (message: string) => void;
}

/**
 * Watches a whole directory tree, recursively: every directory below the
 * root, not only those a request has visited, with one non-recursive
 * fs.watch (inotify) each, set up at start and for every directory created
 * later. Node 20's `recursive: true` on Linux is the same idea done in
 * JavaScript; doing it here bounds the number of watches, skips what
 * `skip` names, and never follows a symlink out of the tree.
 */
export class TreeWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private closed = false;
  private warned = false;

  constructor(
    private readonly root: string,
    private readonly events: TreeEvents,
    /** Names (files or directories) whose changes are not reported and whose subtrees are not watched. */
    private readonly skip: (name: string) => boolean = () => false,
  ) {}

  /** Watch the tree; resolves once every directory that exists now is watched. */
  start(): Promise<void> {
    return this.add(this.root);
  }

  /** How many directories are watched. */
  get size(): number {
    return this.watchers.size;
  }

  /** Stop watching, for good. */
  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** Watch `dir` first, then walk it, so a name created during the walk is seen either way. */
  private async add(dir: string): Promise<void> {
    if (this.closed || this.watchers.has(dir)) return;
    if (this.watchers.size >= MAX_WATCHED_TREE_DIRS) {
      if (!this.warned) {
        this.warned = true;
        this.events.warn(`more than ${MAX_WATCHED_TREE_DIRS} directories under the root: changes below some of them do not reload pages`);
      }
      return;
    }
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => this.onEvent(dir, name === null ? null : String(name)));
    } catch {
      return; // gone already, or no more inotify watches
    }
    watcher.on('error', () => this.forget(dir));
    this.watchers.set(dir, watcher);
    let names;
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const subdirs = names.filter((d) => d.isDirectory() && !this.skip(d.name));
    await Promise.all(subdirs.map((d) => this.add(dir + sep + d.name)));
  }

  private onEvent(dir: string, name: string | null): void {
    if (this.closed) return;
    if (name === null) {
      this.events.changed(dir);
      return;
    }
    // inotify names one level below the watched directory; a path with a separator is not one of ours.
    if (this.skip(name)) return;
    const path = dir + sep + name;
    this.events.changed(path);
    // A directory created, moved in, renamed or removed: forget what was watched under that name, watch what is there now.
    this.forget(path);
    void lstat(path).then(
      (stats) => (stats.isDirectory() ? this.add(path) : undefined),
      () => undefined,
    );
  }

  /** Stop watching `path` and every directory below it. */
  private forget(path: string): void {
    for (const [dir, watcher] of this.watchers) {
      if (dir === path || dir.startsWith(path + sep)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
  }
}
