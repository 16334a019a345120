import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import type { RequestPath } from '../request-path.js';
import { type ScriptTarget, type Target } from '../resolve.js';
import { StaticCache } from './cache.js';
/** What a cache miss set up before resolving: the key, the generation, how deep the watches reach. */
export interface MissTicket {
    readonly key: string;
    readonly generation: number;
    readonly watchedDepth: number;
}
type FileTarget = Extract<Target, {
    kind: 'file';
}>;
type DirectoryTarget = Extract<Target, {
    kind: 'directory';
}>;
/** The raw path of a request target (everything before `?`): the cache key. */
export declare function cacheKey(url: string): string;
/**
 * Static serving: files and listings, through the StaticCache when it is on.
 * A hit answers with no filesystem call; a miss resolves as usual and
 * remembers the outcome when it is safe to (see StaticCache).
 */
export declare class StaticFiles {
    private readonly config;
    readonly cache: StaticCache | null;
    constructor(config: Config);
    /**
     * The hot path, synchronous: a GET/HEAD whose path is cached as a file or a
     * 404, with no precondition or range that could fail, is answered here.
     * `checks` runs only on a hit; false sends the request down the normal path,
     * which answers whatever failed. Returns whether it answered.
     */
    serveFast(req: IncomingMessage, res: ServerResponse, checks: (req: IncomingMessage) => boolean): boolean;
    /** Serve a GET/HEAD from the cache; false on a miss. A cached 404 throws. */
    serveHit(req: IncomingMessage, res: ServerResponse, url: string): boolean | Promise<void>;
    /** Before resolving a GET/HEAD miss: watch the directories it may depend on. Null when it must not be cached. */
    prepareMiss(url: string, path: RequestPath, method: string): MissTicket | null;
    /** A script resolved before, for any method that no command route takes. */
    cachedScript(url: string, path: RequestPath, method: string): ScriptTarget | undefined;
    /** Before resolving a script path: watch the directories down to where the script may be. */
    prepareScriptMiss(url: string, path: RequestPath): MissTicket | null;
    /** Read the generation, then watch the directories down to `depth`: a change from then on is seen. */
    private ticket;
    /** Remember how a script path resolved, when no symlink is involved and its directory is watched. */
    rememberScript(ticket: MissTicket | null, script: ScriptTarget): void;
    /** Remember a 404, when the directory that would hold the name is watched. */
    rememberMissing(ticket: MissTicket | null, path: RequestPath): void;
    serveFileTarget(req: IncomingMessage, res: ServerResponse, target: FileTarget, ticket: MissTicket | null): Promise<void>;
    serveDirectoryTarget(req: IncomingMessage, res: ServerResponse, target: DirectoryTarget, ticket: MissTicket | null): Promise<void>;
    close(): void;
    /** Directory levels of an absolute path below the root (root itself: 0). */
    private depthOf;
    /**
     * A listing from the cache, rendered on first use for each format. The
     * listing shows each subdirectory's date, so subdirectories are watched
     * before the directory is read; a listing with symlinks (whose targets no
     * watch covers) is served but not kept.
     */
    private serveCachedListing;
}
export {};
