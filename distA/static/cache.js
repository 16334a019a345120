import { watch } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, sep } from 'node:path';
import { permissionDenied } from '../errors.js';
import { fileInfo } from './serve-file.js';
/** Files up to this size are held in memory; larger ones keep only their metadata and stream from disk. */
export const MAX_CACHED_BODY_BYTES = 256 * 1024;
/** Memory budget for cached file and listing bodies. */
export const MAX_CACHED_BYTES = 64 * 1024 * 1024;
/** Most request paths remembered. */
export const MAX_CACHE_ENTRIES = 8192;
/** Most directories watched; past this, nothing new is cached. */
export const MAX_WATCHED_DIRS = 4096;
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
export class StaticCache {
    root;
    entries = new Map();
    /** The keys cached for each file-system path, so an event about one name finds its entries without a scan. */
    byPath = new Map();
    watchers = new Map();
    bytes = 0;
    closed = false;
    /** Bumped by every file-system event. */
    generation = 0;
    constructor(root) {
        this.root = root;
    }
    get(key) {
        return this.entries.get(key);
    }
    /** Is this entry still the one cached for key (not invalidated since)? */
    holds(key, entry) {
        return this.entries.get(key) === entry;
    }
    /**
     * Watch the root and each directory named by the first `depth` segments.
     * Returns how many levels below the root are watched (a missing directory
     * stops the walk).
     */
    watchPath(segments, depth) {
        let dir = this.root;
        if (!this.watchDir(dir))
            return -1;
        for (let i = 0; i < depth; i++) {
            dir += sep + segments[i];
            if (!this.watchDir(dir))
                return i;
        }
        return depth;
    }
    /** Cache an entry if nothing changed since `generation` was read; returns whether it was kept. */
    put(key, entry, generation) {
        if (generation !== this.generation || this.closed)
            return false;
        // Misses that raced for the same key each put an entry: the replaced one leaves the count and the index.
        const old = this.entries.get(key);
        if (old)
            this.remove(key, old);
        this.entries.set(key, entry);
        let keys = this.byPath.get(entry.fsPath);
        if (!keys)
            this.byPath.set(entry.fsPath, (keys = new Set()));
        keys.add(key);
        this.account(entry, +1);
        this.evict();
        return true;
    }
    /** Record a listing body rendered for a cached entry (if the entry is still current). */
    storeListingBody(key, entry, json, body, generation) {
        if (generation !== this.generation || this.closed || !this.holds(key, entry))
            return;
        const old = json ? entry.json : entry.html;
        if (json)
            entry.json = body;
        else
            entry.html = body;
        this.bytes += body.length - (old?.length ?? 0);
        this.evict();
    }
    /** Stop watching and forget everything, for good: nothing is cached or watched after this (server or handler close). */
    close() {
        this.closed = true;
        for (const w of this.watchers.values())
            w.close();
        this.watchers.clear();
        this.entries.clear();
        this.byPath.clear();
        this.bytes = 0;
    }
    watchDir(dir) {
        if (this.watchers.has(dir))
            return true;
        if (this.closed)
            return false;
        if (this.watchers.size >= MAX_WATCHED_DIRS)
            return false;
        let watcher;
        try {
            watcher = watch(dir, { persistent: false }, (_event, name) => this.changed(dir, name === null ? null : String(name)));
        }
        catch {
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
    changed(dir, name) {
        this.generation++;
        const prefix = name === null ? dir : dir + sep + name;
        const parent = dirname(dir);
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
            if (below || listingOfDir)
                this.remove(key, entry);
        }
        if (name === null)
            return;
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
    drop(fsPath, which) {
        const keys = this.byPath.get(fsPath);
        if (!keys)
            return;
        for (const key of keys) {
            const entry = this.entries.get(key);
            if (entry && which(entry))
                this.remove(key, entry);
        }
    }
    /** Forget one entry: the map, the path index and the byte count. */
    remove(key, entry) {
        this.entries.delete(key);
        const keys = this.byPath.get(entry.fsPath);
        if (keys?.delete(key) && keys.size === 0)
            this.byPath.delete(entry.fsPath);
        this.account(entry, -1);
    }
    account(entry, sign) {
        if (entry.kind === 'file' && entry.file.body)
            this.bytes += sign * entry.file.body.length;
        if (entry.kind === 'listing')
            this.bytes += sign * ((entry.html?.length ?? 0) + (entry.json?.length ?? 0));
    }
    evict() {
        for (const [key, entry] of this.entries) {
            if (this.bytes <= MAX_CACHED_BYTES && this.entries.size <= MAX_CACHE_ENTRIES)
                return;
            this.remove(key, entry);
        }
    }
}
/**
 * Read a small file whole through one descriptor (open, fstat, read, close),
 * so its bytes and its validators describe the same version. Files over
 * MAX_CACHED_BODY_BYTES get their metadata only.
 */
export async function loadFile(fsPath) {
    let handle;
    try {
        handle = await open(fsPath, 'r');
    }
    catch (err) {
        // Readable by stat, not by open (mode 000): 403 now, not a 200 whose stream then fails.
        const denied = permissionDenied(err, fsPath);
        if (denied)
            throw denied;
        return null;
    }
    try {
        const stats = await handle.stat();
        if (!stats.isFile())
            return null;
        if (stats.size > MAX_CACHED_BODY_BYTES)
            return fileInfo(fsPath, stats);
        const body = Buffer.allocUnsafe(stats.size);
        let read = 0;
        while (read < stats.size) {
            const { bytesRead } = await handle.read(body, read, stats.size - read, read);
            if (bytesRead === 0)
                return null; // shrank while reading: let the uncached path answer
            read += bytesRead;
        }
        return fileInfo(fsPath, stats, body);
    }
    finally {
        await handle.close();
    }
}
