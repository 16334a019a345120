import { watch, type FSWatcher } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, sep } from 'node:path';
import { permissionDenied } from '../errors.js';
import { fileInfo, type FileInfo } from './serve-file.js';

/** Files up to this size are held in memory; larger ones keep only their metadata and stream from disk. */
export const MAX_CACHED_BODY_BYTES = 256 * 1024;
/** Memory budget for cached file and listing bodies. */
export const MAX_CACHED_BYTES = 64 * 1024 * 1024;
/** Most request paths remembered. */
export const MAX_CACHE_ENTRIES = 8192;
/** Most directories watched; past this, nothing new is cached. */
export const MAX_WATCHED_DIRS = 4096;
/** The names of precompressed copies, whose changes also drop the file they are a copy of. */
const PRECOMPRESSED = /.\.(?:br|gz)$/;

/**
 * What a request path resolved to, while nothing on disk has changed. `S` is
 * the resolver's description of a script (the cache only stores it).
 */
export type CacheEntry<S = unknown> =
  | { readonly kind: 'file'; readonly fsPath: string; readonly file: FileInfo }
  | {
      readonly kind: 'listing';
      readonly fsPath: string;
      readonly urlPath: string;
      readonly isRoot: boolean;
      html: Buffer | null;
      json: Buffer | null;
    }
  | { readonly kind: 'missing'; readonly fsPath: string }
  /** A script's resolution (argv, SCRIPT_NAME, PATH_INFO…), valid for any method no command route takes. */
  | { readonly kind: 'script'; readonly fsPath: string; readonly script: S };

/** What a miss set up before resolving: the key, the generation, how deep the watches reach. */
export interface MissTicket {
  readonly key: string;
  readonly generation: number;
  /** Directory levels below the root that are watched (-1: not even the root). */
  readonly watchedDepth: number;
}

/**
 * Remembers how static request paths resolved (a file with its headers and,
 * when small, its bytes; a directory listing; a 404) so that a hot GET does no
 * filesystem call at all.
 *
 * Validity comes from file-system events, never from time: every directory
 * from the root down to an entry is watched (inotify through fs.watch), and
 * any event on a name drops every entry at or below it; an event in a
 * directory also drops the listing of that directory and of its parent (whose
 * listing shows the directory's date). Watches are set up *before* a path is
 * resolved, and a generation counter bumped by every event lets a miss that
 * raced a change decline to cache what it read, so an entry is never older
 * than the last completed change. Paths that involve a symlink are not cached
 * (a change to the target would not be seen in the link's directory).
 */
export class StaticCache<S = unknown> {
  private readonly entries = new Map<string, CacheEntry<S>>();
  /** The keys cached for each file-system path, so an event about one name finds its entries without a scan. */
  private readonly byPath = new Map<string, Set<string>>();
  private readonly watchers = new Map<string, FSWatcher>();
  /** Memory a cached file's derived bodies (compressed forms, static/encoding.ts) took after it was cached. */
  private readonly derivedBytes = new WeakMap<FileInfo, number>();
  private bytes = 0;
  private closed = false;
  /** Bumped by every file-system event. */
  generation = 0;

  constructor(private readonly root: string) {}

  get(key: string): CacheEntry<S> | undefined {
    return this.entries.get(key);
  }

  /** Is this entry still the one cached for key (not invalidated since)? */
  holds(key: string, entry: CacheEntry<S>): boolean {
    return this.entries.get(key) === entry;
  }

  /**
   * Before resolving a miss: read the generation, then watch the directories
   * down to `depth` levels, so that any change from then on is seen (and a
   * put with this ticket's generation declines what raced it).
   */
  openTicket(key: string, segments: readonly string[], depth: number): MissTicket {
    const generation = this.generation;
    return { key, generation, watchedDepth: this.watchPath(segments, Math.max(0, depth)) };
  }

  /**
   * Watch the root and each directory named by the first `depth` segments.
   * Returns how many levels below the root are watched (a missing directory
   * stops the walk).
   */
  watchPath(segments: readonly string[], depth: number): number {
    let dir = this.root;
    if (!this.watchDir(dir)) return -1;
    for (let i = 0; i < depth; i++) {
      dir += sep + segments[i]!;
      if (!this.watchDir(dir)) return i;
    }
    return depth;
  }

  /** Cache an entry if nothing changed since `generation` was read; returns whether it was kept. */
  put(key: string, entry: CacheEntry<S>, generation: number): boolean {
    if (generation !== this.generation || this.closed) return false;
    // Misses that raced for the same key each put an entry: the replaced one leaves the count and the index.
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    this.entries.set(key, entry);
    let keys = this.byPath.get(entry.fsPath);
    if (!keys) this.byPath.set(entry.fsPath, (keys = new Set()));
    keys.add(key);
    this.account(entry, +1);
    if (entry.kind === 'file' && entry.file.body) entry.file.retain = (bytes) => this.retainDerived(key, entry, bytes);
    this.evict();
    return true;
  }

  /** A cached file keeps `bytes` more (a compressed body), within the budget, while it is still the entry for key. */
  private retainDerived(key: string, entry: CacheEntry<S> & { kind: 'file' }, bytes: number): boolean {
    if (this.closed || !this.holds(key, entry)) return false;
    this.derivedBytes.set(entry.file, (this.derivedBytes.get(entry.file) ?? 0) + bytes);
    this.bytes += bytes;
    this.evict();
    return true;
  }

  /** Record a listing body rendered for a cached entry (if the entry is still current). */
  storeListingBody(key: string, entry: CacheEntry<S> & { kind: 'listing' }, json: boolean, body: Buffer, generation: number): void {
    if (generation !== this.generation || this.closed || !this.holds(key, entry)) return;
    const old = json ? entry.json : entry.html;
    if (json) entry.json = body;
    else entry.html = body;
    this.bytes += body.length - (old?.length ?? 0);
    this.evict();
  }

  /** Stop watching and forget everything, for good: nothing is cached or watched after this (server or handler close). */
  close(): void {
    this.closed = true;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.entries.clear();
    this.byPath.clear();
    this.bytes = 0;
  }

  private watchDir(dir: string): boolean {
    if (this.watchers.has(dir)) return true;
    if (this.closed) return false;
    if (this.watchers.size >= MAX_WATCHED_DIRS) return false;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: false }, (_event, name) => this.changed(dir, name === null ? null : String(name)));
    } catch {
      // Not a directory (yet), or no more inotify watches: just don't cache below it.
      return false;
    }
    watcher.on('error', () => {
      watcher.close();
      this.watchers.delete(dir);
      this.changed(dir, null);
    });
    this.watchers.set(dir, watcher);
    return true;
  }

  /** A change in `dir` to `name` (null: unknown, e.g. queue overflow). */
  private changed(dir: string, name: string | null): void {
    this.generation++;
    const prefix = name === null ? dir : dir + sep + name;
    const parent = dirname(dir);
    // A precompressed copy (`app.js.gz`, static/encoding.ts) appearing, changing or going changes how `app.js` is served.
    if (name !== null && PRECOMPRESSED.test(name)) this.drop(prefix.slice(0, -3), (entry) => entry.kind === 'file');
    if (name !== null && !this.watchers.has(prefix)) {
      // The common event, a file written, created or removed: nothing can be
      // cached below an unwatched name, so its own entries and the listings of
      // its directory and of the parent (which shows the directory's date) are all.
      this.drop(prefix, () => true);
      this.drop(dir, (entry) => entry.kind === 'listing');
      this.drop(parent, (entry) => entry.kind === 'listing');
      return;
    }
    // A watched directory changed (renamed, removed) or events were lost: everything below it goes.
    for (const [key, entry] of this.entries) {
      const p = entry.fsPath;
      const below = p === prefix || p.startsWith(prefix + sep);
      const listingOfDir = entry.kind === 'listing' && (p === dir || p === parent);
      if (below || listingOfDir) this.remove(key, entry);
    }
    if (name === null) return;
    // A watched directory renamed or removed: its watches (and those below it)
    // now follow another inode or none, so drop them; they are set up again on demand.
    for (const [path, watcher] of this.watchers) {
      if (path === prefix || path.startsWith(prefix + sep)) {
        watcher.close();
        this.watchers.delete(path);
      }
    }
  }

  /** Remove the entries cached for `fsPath` that `which` selects. */
  private drop(fsPath: string, which: (entry: CacheEntry<S>) => boolean): void {
    const keys = this.byPath.get(fsPath);
    if (!keys) return;
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry && which(entry)) this.remove(key, entry);
    }
  }

  /** Forget one entry: the map, the path index and the byte count. */
  private remove(key: string, entry: CacheEntry<S>): void {
    this.entries.delete(key);
    const keys = this.byPath.get(entry.fsPath);
    if (keys?.delete(key) && keys.size === 0) this.byPath.delete(entry.fsPath);
    this.account(entry, -1);
  }

  private account(entry: CacheEntry<S>, sign: 1 | -1): void {
    if (entry.kind === 'file' && entry.file.body) this.bytes += sign * (entry.file.body.length + (this.derivedBytes.get(entry.file) ?? 0));
    if (entry.kind === 'listing') this.bytes += sign * ((entry.html?.length ?? 0) + (entry.json?.length ?? 0));
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= MAX_CACHED_BYTES && this.entries.size <= MAX_CACHE_ENTRIES) return;
      this.remove(key, entry);
    }
  }
}

/**
 * Read a small file whole through one descriptor (open, fstat, read, close),
 * so its bytes and its validators describe the same version. Files over
 * MAX_CACHED_BODY_BYTES get their metadata only.
 */
export async function loadFile(fsPath: string): Promise<FileInfo | null> {
  let handle;
  try {
    handle = await open(fsPath, 'r');
  } catch (err) {
    // Readable by stat, not by open (mode 000): 403 now, not a 200 whose stream then fails.
    const denied = permissionDenied(err, fsPath);
    if (denied) throw denied;
    return null;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return null;
    if (stats.size > MAX_CACHED_BODY_BYTES) return fileInfo(fsPath, stats);
    const body = Buffer.allocUnsafe(stats.size);
    let read = 0;
    while (read < stats.size) {
      const { bytesRead } = await handle.read(body, read, stats.size - read, read);
      if (bytesRead === 0) return null; // shrank while reading: let the uncached path answer
      read += bytesRead;
    }
    return fileInfo(fsPath, stats, body);
  } finally {
    await handle.close();
  }
}
