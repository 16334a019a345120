import type { ScriptTarget } from '../resolve.js';
import { type FileInfo } from './serve-file.js';
/** Files up to this size are held in memory; larger ones keep only their metadata and stream from disk. */
export declare const MAX_CACHED_BODY_BYTES: number;
/** Memory budget for cached file and listing bodies. */
export declare const MAX_CACHED_BYTES: number;
/** Most request paths remembered. */
export declare const MAX_CACHE_ENTRIES = 8192;
/** Most directories watched; past this, nothing new is cached. */
export declare const MAX_WATCHED_DIRS = 4096;
/** What a request path resolved to, while nothing on disk has changed. */
export type CacheEntry = {
    readonly kind: 'file';
    readonly fsPath: string;
    readonly file: FileInfo;
} | {
    readonly kind: 'listing';
    readonly fsPath: string;
    readonly urlPath: string;
    readonly isRoot: boolean;
    html: Buffer | null;
    json: Buffer | null;
} | {
    readonly kind: 'missing';
    readonly fsPath: string;
}
/** A script's resolution (argv, SCRIPT_NAME, PATH_INFO…), valid for any method no command route takes. */
 | {
    readonly kind: 'script';
    readonly fsPath: string;
    readonly script: ScriptTarget;
};
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
export declare class StaticCache {
    private readonly root;
    private readonly entries;
    /** The keys cached for each file-system path, so an event about one name finds its entries without a scan. */
    private readonly byPath;
    private readonly watchers;
    private bytes;
    private closed;
    /** Bumped by every file-system event. */
    generation: number;
    constructor(root: string);
    get(key: string): CacheEntry | undefined;
    /** Is this entry still the one cached for key (not invalidated since)? */
    holds(key: string, entry: CacheEntry): boolean;
    /**
     * Watch the root and each directory named by the first `depth` segments.
     * Returns how many levels below the root are watched (a missing directory
     * stops the walk).
     */
    watchPath(segments: readonly string[], depth: number): number;
    /** Cache an entry if nothing changed since `generation` was read; returns whether it was kept. */
    put(key: string, entry: CacheEntry, generation: number): boolean;
    /** Record a listing body rendered for a cached entry (if the entry is still current). */
    storeListingBody(key: string, entry: CacheEntry & {
        kind: 'listing';
    }, json: boolean, body: Buffer, generation: number): void;
    /** Stop watching and forget everything, for good: nothing is cached or watched after this (server or handler close). */
    close(): void;
    private watchDir;
    /** A change in `dir` to `name` (null: unknown, e.g. queue overflow). */
    private changed;
    /** Remove the entries cached for `fsPath` that `which` selects. */
    private drop;
    /** Forget one entry: the map, the path index and the byte count. */
    private remove;
    private account;
    private evict;
}
/**
 * Read a small file whole through one descriptor (open, fstat, read, close),
 * so its bytes and its validators describe the same version. Files over
 * MAX_CACHED_BODY_BYTES get their metadata only.
 */
export declare function loadFile(fsPath: string): Promise<FileInfo | null>;
