import { constants } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sep } from 'node:path';
import type { Config } from '../config.js';
import { HttpError, permissionDenied, sendNotFound } from '../errors.js';
import type { RequestPath } from '../request-path.js';
import { isScriptPath, matchRoute, type ScriptTarget, type Target } from '../resolve.js';
import { loadFile, StaticCache, type CacheEntry } from './cache.js';
import { listingBody, readListing, sendListing, wantsJson } from './listing.js';
import { fileInfo, sentBodyBytes, serveFile } from './serve-file.js';

/** What a cache miss set up before resolving: the key, the generation, how deep the watches reach. */
export interface MissTicket {
  readonly key: string;
  readonly generation: number;
  readonly watchedDepth: number;
}

type FileTarget = Extract<Target, { kind: 'file' }>;
type DirectoryTarget = Extract<Target, { kind: 'directory' }>;

/** The raw path of a request target (everything before `?`): the cache key. */
export function cacheKey(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * Static serving: files and listings, through the StaticCache when it is on.
 * A hit answers with no filesystem call; a miss resolves as usual and
 * remembers the outcome when it is safe to (see StaticCache).
 */
export class StaticFiles {
  readonly cache: StaticCache | null;

  constructor(private readonly config: Config) {
    this.cache = config.fileCache ? new StaticCache(config.root) : null;
  }

  /**
   * The hot path, synchronous: a GET/HEAD whose path is cached as a file or a
   * 404, with no precondition or range that could fail, is answered here.
   * `checks` runs only on a hit; false sends the request down the normal path,
   * which answers whatever failed. Returns whether it answered.
   */
  serveFast(req: IncomingMessage, res: ServerResponse, checks: (req: IncomingMessage) => boolean): boolean {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const entry = this.cache!.get(cacheKey(req.url ?? '/'));
    if (entry === undefined || entry.kind === 'listing' || entry.kind === 'script') return false;
    const h = req.headers;
    // These can fail (412, 416): they take the normal path, whose error edge answers them.
    if (h['if-match'] !== undefined || h['if-unmodified-since'] !== undefined || h.range !== undefined) return false;
    if (!checks(req)) return false;
    if (entry.kind === 'missing') {
      const bytes = sendNotFound(res, method === 'HEAD');
      if (this.config.log) sentBodyBytes.set(res, bytes);
      return true;
    }
    serveFile(req, res, this.config, entry.file);
    return true;
  }

  /** Serve a GET/HEAD from the cache; false on a miss. A cached 404 throws. */
  serveHit(req: IncomingMessage, res: ServerResponse, url: string): boolean | Promise<void> {
    const key = cacheKey(url);
    const entry = this.cache!.get(key);
    if (entry === undefined || entry.kind === 'script') return false;
    switch (entry.kind) {
      case 'file':
        serveFile(req, res, this.config, entry.file);
        return true;
      case 'missing':
        throw new HttpError(404);
      case 'listing':
        return this.serveCachedListing(req, res, key, entry);
    }
  }

  /** Before resolving a GET/HEAD miss: watch the directories it may depend on. Null when it must not be cached. */
  prepareMiss(url: string, path: RequestPath, method: string): MissTicket | null {
    const cache = this.cache;
    if (!cache || (method !== 'GET' && method !== 'HEAD') || !path.canonical || isScriptPath(this.config, path)) return null;
    return this.ticket(cache, url, path, path.trailingSlash ? path.segments.length : path.segments.length - 1);
  }

  /** A script resolved before, for any method that no command route takes. */
  cachedScript(url: string, path: RequestPath, method: string): ScriptTarget | undefined {
    const entry = this.cache?.get(cacheKey(url));
    if (entry?.kind !== 'script' || matchRoute(this.config.routes, path, method)) return undefined;
    return entry.script;
  }

  /** Before resolving a script path: watch the directories down to where the script may be. */
  prepareScriptMiss(url: string, path: RequestPath): MissTicket | null {
    const cache = this.cache;
    if (!cache || !path.canonical || !isScriptPath(this.config, path)) return null;
    return this.ticket(cache, url, path, path.segments.length - 1);
  }

  /** Read the generation, then watch the directories down to `depth`: a change from then on is seen. */
  private ticket(cache: StaticCache, url: string, path: RequestPath, depth: number): MissTicket {
    const generation = cache.generation;
    return { key: cacheKey(url), generation, watchedDepth: cache.watchPath(path.segments, Math.max(0, depth)) };
  }

  /** Remember how a script path resolved, when no symlink is involved and its directory is watched. */
  rememberScript(ticket: MissTicket | null, script: ScriptTarget): void {
    if (!ticket || script.route || !script.realPathIsPath) return;
    if (ticket.watchedDepth < this.depthOf(script.scriptFilename) - 1) return;
    this.cache!.put(ticket.key, { kind: 'script', fsPath: script.scriptFilename, script }, ticket.generation);
  }

  /** Remember a 404, when the directory that would hold the name is watched. */
  rememberMissing(ticket: MissTicket | null, path: RequestPath): void {
    if (!ticket || ticket.watchedDepth < path.segments.length - 1) return;
    const fsPath = this.config.root + (path.segments.length ? sep + path.segments.join(sep) : '');
    this.cache!.put(ticket.key, { kind: 'missing', fsPath }, ticket.generation);
  }

  async serveFileTarget(req: IncomingMessage, res: ServerResponse, target: FileTarget, ticket: MissTicket | null): Promise<void> {
    if (ticket && target.realPath === target.fsPath && ticket.watchedDepth >= this.depthOf(target.fsPath) - 1) {
      // Read after the watches exist, through one descriptor, so bytes and validators agree.
      const file = await loadFile(target.fsPath);
      if (file) {
        this.cache!.put(ticket.key, { kind: 'file', fsPath: target.fsPath, file }, ticket.generation);
        return serveFile(req, res, this.config, file);
      }
    }
    // Not cached (a symlink on the way, or no watch): still refuse an unreadable file before any header goes out.
    await access(target.fsPath, constants.R_OK).catch((err: unknown) => {
      throw permissionDenied(err, target.fsPath) ?? err;
    });
    return serveFile(req, res, this.config, fileInfo(target.fsPath, target.stats));
  }

  async serveDirectoryTarget(req: IncomingMessage, res: ServerResponse, target: DirectoryTarget, ticket: MissTicket | null): Promise<void> {
    if (ticket && target.realPath === target.fsPath && ticket.watchedDepth >= this.depthOf(target.fsPath)) {
      const entry: CacheEntry & { kind: 'listing' } = {
        kind: 'listing',
        fsPath: target.fsPath,
        urlPath: target.urlPath,
        isRoot: target.isRoot,
        html: null,
        json: null,
      };
      if (this.cache!.put(ticket.key, entry, ticket.generation)) return this.serveCachedListing(req, res, ticket.key, entry);
    }
    const json = await wantsJson(req);
    const { entries } = await readListing(this.config, target.fsPath);
    sendListing(req, res, listingBody(target.urlPath, entries, target.isRoot, json), json);
  }

  close(): void {
    this.cache?.close();
  }

  /** Directory levels of an absolute path below the root (root itself: 0). */
  private depthOf(fsPath: string): number {
    if (fsPath === this.config.root) return 0;
    return fsPath.slice(this.config.root.length + 1).split(sep).length;
  }

  /**
   * A listing from the cache, rendered on first use for each format. The
   * listing shows each subdirectory's date, so subdirectories are watched
   * before the directory is read; a listing with symlinks (whose targets no
   * watch covers) is served but not kept.
   */
  private async serveCachedListing(req: IncomingMessage, res: ServerResponse, key: string, entry: CacheEntry & { kind: 'listing' }): Promise<void> {
    const json = await wantsJson(req);
    const ready = json ? entry.json : entry.html;
    if (ready) return sendListing(req, res, ready, json);
    const cache = this.cache!;
    const generation = cache.generation;
    const dirents = await readdir(entry.fsPath, { withFileTypes: true });
    const relative = entry.fsPath === this.config.root ? [] : entry.fsPath.slice(this.config.root.length + 1).split(sep);
    const subdirsWatched = dirents
      .filter((d) => d.isDirectory() && (this.config.dotfiles === 'allow' || !d.name.startsWith('.')))
      .every((d) => cache.watchPath([...relative, d.name], relative.length + 1) === relative.length + 1);
    // The names read above: a name added or removed since is an event in this directory, which bumps the generation.
    const { entries, hasSymlinks } = await readListing(this.config, entry.fsPath, dirents);
    const body = listingBody(entry.urlPath, entries, entry.isRoot, json);
    if (subdirsWatched && !hasSymlinks) cache.storeListingBody(key, entry, json, body, generation);
    sendListing(req, res, body, json);
  }
}
