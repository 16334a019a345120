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
  /** Said once, when the tree has more directories than can be watched (the cap, or the system's limit). */
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
    return this.walk(this.root);
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

  /**
   * Watch `top` and every directory below it, breadth first, so that when
   * the tree has more directories than MAX_WATCHED_TREE_DIRS, the shallow
   * ones (the site's own folders) are watched before deep ones (a
   * `node_modules`). Each directory is watched before it is read, so a name
   * created meanwhile is seen either way.
   */
  private async walk(top: string): Promise<void> {
    const queue = [top];
    for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
      if (!this.watchDir(dir)) continue;
      let names;
      try {
        names = await readdir(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const d of names) if (d.isDirectory() && !this.skip(d.name)) queue.push(dir + sep + d.name);
    }
  }

  /** Watch one directory; false when it cannot be (gone, closed, the cap reached, no inotify watch left). */
  private watchDir(dir: string): boolean {
    if (this.closed) return false;
    if (this.watchers.has(dir)) return true;
    if (this.watchers.size >= MAX_WATCHED_TREE_DIRS) {
      this.warnOnce(`more than ${MAX_WATCHED_TREE_DIRS} directories under the root: changes below some of them do not reload pages`);
      return false;
    }
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => this.onEvent(dir, name === null ? null : String(name)));
    } catch (err) {
      // Gone meanwhile: nothing to say. Out of inotify watches (ENOSPC) or descriptors: say it once.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EMFILE') {
        this.warnOnce(`cannot watch more directories (${code}; see fs.inotify.max_user_watches): changes below some of them do not reload pages`);
      }
      return false;
    }
    watcher.on('error', () => this.forget(dir));
    this.watchers.set(dir, watcher);
    return true;
  }

  private warnOnce(message: string): void {
    if (this.warned) return;
    this.warned = true;
    this.events.warn(message);
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
      (stats) => (stats.isDirectory() ? this.walk(path) : undefined),
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
