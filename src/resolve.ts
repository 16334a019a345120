import { constants, type Stats } from 'node:fs';
import { access, readdir, realpath, stat } from 'node:fs/promises';
import { basename, extname, sep } from 'node:path';
import type { Config, Route } from './config.js';
import { HttpError, permissionDenied } from './errors.js';
import { encodePath, parseRequestTarget, type RequestPath } from './request-path.js';
import { loadFile, StaticCache, type CacheEntry, type MissTicket } from './static/cache.js';
import { listingBody, readListing } from './static/listing.js';
import { isDefaultView, type ListingView } from './static/listing-view.js';
import { inScriptDirectory, isInside, isServerCode, scriptDirectoryOf } from './server-code.js';
import { fileInfo, type FileInfo } from './static/serve-file.js';

/** A script to run: found in a script directory, or a command route. */
export interface ScriptTarget {
  /** Absolute argv: the script itself, or an interpreter followed by the script. */
  readonly argv: readonly string[];
  /** Absolute path of the script file (SCRIPT_FILENAME); for a route, its command. */
  readonly scriptFilename: string;
  /** URL path of the script (SCRIPT_NAME), decoded. */
  readonly scriptName: string;
  /** The rest of the path after the script (PATH_INFO), decoded; '' when none. */
  readonly pathInfo: string;
  /** Working directory: the script's own directory, or the root for routes. */
  readonly cwd: string;
  /** Non-parsed-header script (`nph-` prefix): its output is the whole response. */
  readonly nph: boolean;
  /** Set for command routes. */
  readonly route?: Route;
  /** No symlink on the way to the script: its resolution may be cached (watches see every change). */
  readonly realPathIsPath?: boolean;
}

/**
 * Where a request goes, with what the cache knows about it. Each kind has one
 * handler in the pipeline.
 */
export type Target =
  /** A file for GET or HEAD: its validators, and its bytes when small and cached. */
  | { readonly kind: 'file'; readonly file: FileInfo }
  /**
   * A directory listing for GET or HEAD: `body` renders it for a view (sort,
   * filter), or takes the plain view from the cache; `fsPath` is the folder
   * (for its archive and its page's extras).
   */
  | {
      readonly kind: 'directory';
      readonly fsPath: string;
      /** The folder's URL path, decoded, as segments. */
      readonly segments: readonly string[];
      readonly body: (json: boolean, view: ListingView) => Promise<Buffer>;
    }
  /** The canonical spelling of the path (301, or 308 for methods with a body). */
  | { readonly kind: 'redirect'; readonly location: string }
  /** A script or command route, with the parsed path its environment is built from. */
  | { readonly kind: 'script'; readonly script: ScriptTarget; readonly path: RequestPath }
  /** A file or directory asked for with a method other than GET or HEAD: answered from its Allow list, never read. */
  | { readonly kind: 'other-method' }
  /**
   * A path a command route owns, asked for with a method none of its routes
   * takes: 405 with `allow`, or for `OPTIONS` the `allow` list itself.
   */
  | { readonly kind: 'route-method'; readonly allow: string }
  /** `OPTIONS *` (RFC 9112 3.2.4, the asterisk form): the server itself, not a resource. */
  | { readonly kind: 'server' }
  /**
   * A 404 the cache remembers. Returned rather than thrown: a throw costs a
   * stack capture (Node keeps one for uncaught exceptions), several times the
   * rest of the hot path. A 404 found on a miss is thrown like any failure.
   */
  | { readonly kind: 'not-found' };

type CachedFile = CacheEntry<ScriptTarget> & { kind: 'file' };
type CachedListing = CacheEntry<ScriptTarget> & { kind: 'listing' };

const OTHER_METHOD: Target = { kind: 'other-method' };
const SERVER: Target = { kind: 'server' };
const NOT_FOUND_TARGET: Target = { kind: 'not-found' };

/** The raw path of a request target (everything before `?`): the cache key. */
function cacheKey(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * URL → target, with the file cache (static/cache.ts) behind it when
 * `config.fileCache` is on. A hit costs no filesystem call and no promise; a
 * miss resolves through the file system and remembers the outcome when it is
 * safe to (see StaticCache): a file with its validators and bytes, a listing,
 * a 404, or a script's resolution. A script's resolution holds for every
 * method no command route takes; a file, listing or 404 is never cached for a
 * path some route covers, so those hits need not look at routes.
 */
export class Resolver {
  private readonly cache: StaticCache<ScriptTarget> | null;

  constructor(private readonly config: Config) {
    this.cache = config.fileCache ? new StaticCache<ScriptTarget>(config.root) : null;
  }

  /**
   * The target of a request: synchronous when the cache knows it (the hot
   * path), else a promise. Failures are HttpErrors, thrown or rejected,
   * except a cached 404, which is a target.
   */
  resolve(url: string, method: string): Target | Promise<Target> {
    if (url === '*' && method === 'OPTIONS') return SERVER;
    const entry = this.cache?.get(cacheKey(url));
    if (entry === undefined) return this.resolveMiss(url, method);
    if (entry.kind === 'script') return this.cachedScript(entry.script, url, method);
    // Files, listings and 404s are remembered from GET and HEAD only; other methods get their 405 or route on a miss.
    if (method !== 'GET' && method !== 'HEAD') return this.resolveMiss(url, method);
    if (entry.kind === 'file') return entry;
    if (entry.kind === 'missing') return NOT_FOUND_TARGET;
    return this.listingTarget(cacheKey(url), entry);
  }

  /** A cached script's resolution, unless a command route owns the path. */
  private cachedScript(script: ScriptTarget, url: string, method: string): Target | Promise<Target> {
    const path = parseRequestTarget(url);
    if (routeCovers(this.config.routes, path)) return this.resolveMiss(url, method);
    return { kind: 'script', script, path };
  }

  /** The file cache's generation (bumped by every file-system event), or null without a cache. */
  get cacheGeneration(): number | null {
    return this.cache?.generation ?? null;
  }

  /** Stop watching and forget everything (server or handler close); later requests resolve uncached. */
  close(): void {
    this.cache?.close();
  }

  private async resolveMiss(url: string, method: string): Promise<Target> {
    const path = parseRequestTarget(url);
    const ticket = this.openTicket(url, path, method);
    let found: Found;
    try {
      found = await find(this.config, path, method);
    } catch (err) {
      if (ticket && err instanceof HttpError && err.status === 404) this.rememberMissing(ticket, path);
      throw err;
    }
    const getOrHead = method === 'GET' || method === 'HEAD';
    switch (found.kind) {
      case 'redirect':
      case 'route-method':
        return found;
      case 'script':
        if (ticket) this.rememberScript(ticket, found.script);
        return { kind: 'script', script: found.script, path };
      case 'file':
        return getOrHead ? this.fileTarget(found, ticket) : OTHER_METHOD;
      case 'directory':
        return getOrHead ? this.directoryTarget(found, ticket) : OTHER_METHOD;
    }
  }

  /**
   * Before resolving a miss that may be cached, watch the directories it may
   * depend on: down to where a script may be, or to the file's directory (the
   * directory itself for a path with a trailing slash). Null when nothing
   * about this request is cached.
   */
  private openTicket(url: string, path: RequestPath, method: string): MissTicket | null {
    const cache = this.cache;
    if (cache === null || !path.canonical) return null;
    const n = path.segments.length;
    if (isScriptPath(this.config, path)) return cache.openTicket(cacheKey(url), path.segments, n - 1);
    if ((method !== 'GET' && method !== 'HEAD') || routeCovers(this.config.routes, path)) return null;
    return cache.openTicket(cacheKey(url), path.segments, path.trailingSlash ? n : n - 1);
  }

  /** Remember a 404 outside the script directories, when the directory that would hold the name is watched. */
  private rememberMissing(ticket: MissTicket, path: RequestPath): void {
    if (ticket.watchedDepth < path.segments.length - 1 || isScriptPath(this.config, path)) return;
    const fsPath = this.config.root + (path.segments.length ? sep + path.segments.join(sep) : '');
    this.cache!.put(ticket.key, { kind: 'missing', fsPath }, ticket.generation);
  }

  /** Remember how a script path resolved, when no symlink is involved and its directory is watched. */
  private rememberScript(ticket: MissTicket, script: ScriptTarget): void {
    if (script.route || !script.realPathIsPath) return;
    if (ticket.watchedDepth < this.depthOf(script.scriptFilename) - 1) return;
    this.cache!.put(ticket.key, { kind: 'script', fsPath: script.scriptFilename, script }, ticket.generation);
  }

  private async fileTarget(found: Found & { kind: 'file' }, ticket: MissTicket | null): Promise<Target> {
    const { fsPath } = found;
    if (ticket && found.realPath === fsPath && ticket.watchedDepth >= this.depthOf(fsPath) - 1) {
      // Read after the watches exist, through one descriptor, so bytes and validators agree.
      const file = await loadFile(fsPath);
      if (file) {
        const entry: CachedFile = { kind: 'file', fsPath, file };
        this.cache!.put(ticket.key, entry, ticket.generation);
        return entry;
      }
    }
    // Not cached (a symlink on the way, or no watch): still refuse an unreadable file before any header goes out.
    await access(fsPath, constants.R_OK).catch((err: unknown) => {
      throw permissionDenied(err, fsPath) ?? err;
    });
    return { kind: 'file', file: fileInfo(fsPath, found.stats) };
  }

  private directoryTarget(found: Found & { kind: 'directory' }, ticket: MissTicket | null): Target {
    const { fsPath, urlPath, isRoot } = found;
    if (ticket && found.realPath === fsPath && ticket.watchedDepth >= this.depthOf(fsPath)) {
      const entry: CachedListing = { kind: 'listing', fsPath, urlPath, isRoot, html: null, json: null };
      if (this.cache!.put(ticket.key, entry, ticket.generation)) return this.listingTarget(ticket.key, entry);
    }
    const dir = { fsPath, urlPath, isRoot };
    return {
      kind: 'directory',
      fsPath,
      segments: found.segments,
      body: async (json, view) => listingBody(this.config, dir, (await readListing(this.config, fsPath)).entries, json, view),
    };
  }

  private listingTarget(key: string, entry: CachedListing): Target {
    const segments = entry.fsPath === this.config.root ? [] : entry.fsPath.slice(this.config.root.length + 1).split(sep);
    return { kind: 'directory', fsPath: entry.fsPath, segments, body: (json, view) => this.cachedListingBody(key, entry, json, view) };
  }

  /**
   * A cached listing's body, rendered on first use for each format. The
   * listing shows each subdirectory's date, so subdirectories are watched
   * before the directory is read; a listing with symlinks (whose targets no
   * watch covers) is served but not kept. Only the plain view (no sort or
   * filter parameters) is kept; other views are built from a fresh read.
   */
  private async cachedListingBody(key: string, entry: CachedListing, json: boolean, view: ListingView): Promise<Buffer> {
    const plain = isDefaultView(view);
    const ready = plain ? (json ? entry.json : entry.html) : null;
    if (ready) return ready;
    const cache = this.cache!;
    const generation = cache.generation;
    const dirents = await readdir(entry.fsPath, { withFileTypes: true });
    const relative = entry.fsPath === this.config.root ? [] : entry.fsPath.slice(this.config.root.length + 1).split(sep);
    const subdirsWatched = dirents
      .filter((d) => d.isDirectory() && (this.config.dotfiles === 'allow' || !d.name.startsWith('.')))
      .every((d) => cache.watchPath([...relative, d.name], relative.length + 1) === relative.length + 1);
    // The names read above: a name added or removed since is an event in this directory, which bumps the generation.
    const { entries, hasSymlinks } = await readListing(this.config, entry.fsPath, dirents);
    const body = await listingBody(this.config, entry, entries, json, view);
    if (plain && subdirsWatched && !hasSymlinks) cache.storeListingBody(key, entry, json, body, generation);
    return body;
  }

  /** Directory levels of an absolute path below the root (root itself: 0). */
  private depthOf(fsPath: string): number {
    if (fsPath === this.config.root) return 0;
    return fsPath.slice(this.config.root.length + 1).split(sep).length;
  }
}

/** What the file system says a request path is, before anything is read or cached. */
type Found =
  /** `realPath` differs from `fsPath` when a symlink is on the way (such targets are not cached). */
  | { readonly kind: 'file'; readonly fsPath: string; readonly realPath: string; readonly stats: Stats }
  | {
      readonly kind: 'directory';
      readonly fsPath: string;
      readonly realPath: string;
      readonly urlPath: string;
      readonly segments: readonly string[];
      readonly isRoot: boolean;
    }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'route-method'; readonly allow: string }
  | { readonly kind: 'script'; readonly script: ScriptTarget };

const NOT_FOUND = (): HttpError => new HttpError(404);
/**
 * Directory index files in order; a script one only when its extension is
 * run (`--cgi-ext`), as Apache's `DirectoryIndex index.html index.php`.
 */
const INDEX_FILES = ['index.html', 'index.php', 'index.cgi'];

/**
 * Map a parsed request to what the file system holds for it. Order: command
 * routes, canonical-path redirect, script directories, then files.
 * Everything here fails with one HttpError; nothing touches the response.
 */
async function find(config: Config, path: RequestPath, method: string): Promise<Found> {
  const route = matchRoute(config.routes, path, method);
  if (route) return { kind: 'script', script: routeTarget(config, route, path) };
  const allow = routeAllow(config.routes, path);
  if (allow) return { kind: 'route-method', allow };
  if (!path.canonical) {
    return { kind: 'redirect', location: config.basePath + encodePath(path.segments, path.trailingSlash) + queryPart(path) };
  }
  if (config.dotfiles === 'ignore' && path.segments.some((s) => s.charCodeAt(0) === 46 /* . */)) throw NOT_FOUND();
  if (config.cgiEnabled) {
    const dir = config.cgiDirs.find((d) => startsWith(path.segments, d));
    if (dir) return { kind: 'script', script: await resolveScript(config, dir, path) };
  }
  return resolveStatic(config, path, method);
}

function queryPart(path: RequestPath): string {
  return path.query === '' ? '' : '?' + path.query;
}

function startsWith(segments: readonly string[], prefix: readonly string[]): boolean {
  if (segments.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (segments[i] !== prefix[i]) return false;
  return true;
}

/**
 * The command route for a request, if one matches its method and path. A
 * GET route answers HEAD (RFC 9110 9.3.2: HEAD is GET without the body); an
 * ANY route takes every method, OPTIONS included (CORS preflights are
 * answered before routes, by the server).
 */
function matchRoute(routes: readonly Route[], path: RequestPath, method: string): Route | undefined {
  if (routes.length === 0) return undefined;
  const takes = (r: Route): boolean => r.method === 'ANY' || r.method === method || (method === 'HEAD' && r.method === 'GET');
  return routes.find((r) => takes(r) && routeMatchesPath(r, path));
}

/**
 * The Allow list of a path some command route owns (RFC 9110 10.2.1): the
 * methods of every route on it, HEAD wherever GET is, and OPTIONS, which the
 * server answers. Empty when no route covers the path. A route owns its path
 * for every method, so another method is a 405, never the file or script a
 * route shadows.
 */
function routeAllow(routes: readonly Route[], path: RequestPath): string {
  const methods = new Set<string>();
  for (const r of routes) {
    if (!routeMatchesPath(r, path)) continue;
    methods.add(r.method);
    if (r.method === 'GET') methods.add('HEAD');
  }
  if (methods.size === 0) return '';
  methods.add('OPTIONS');
  return [...methods].join(', ');
}

/**
 * Does a command route take this path for some method? Such a path is never
 * cached: a file or 404 remembered from HEAD must not answer the GET that a
 * `GET` route takes.
 */
function routeCovers(routes: readonly Route[], path: RequestPath): boolean {
  return routes.length > 0 && routes.some((r) => routeMatchesPath(r, path));
}

/** Does a command route's path (exact, or a `/*` prefix) take this request path, whatever the method? */
export function routeMatchesPath(route: Route, path: RequestPath): boolean {
  return route.prefix ? path.decoded.startsWith(route.path) : path.decoded === route.path;
}

function routeTarget(config: Config, route: Route, path: RequestPath): ScriptTarget {
  const base = route.prefix ? route.path.slice(0, -1) : route.path;
  return {
    argv: route.argv,
    scriptFilename: route.argv[route.argv.length > 1 ? 1 : 0]!,
    scriptName: config.basePath + base,
    pathInfo: path.decoded.slice(base.length),
    cwd: config.root,
    nph: false,
    route,
  };
}

async function statOrNull(fsPath: string): Promise<Stats | null> {
  try {
    return await stat(fsPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP') return null;
    throw permissionDenied(err, fsPath) ?? err;
  }
}

/**
 * A file inside a script directory: walk down while the path names a
 * directory; the first regular file is the script and the rest is PATH_INFO
 * (CPython's run_cgi does the same walk). The script's real path must stay
 * inside the script directory's real path, so a symlink cannot make
 * `/cgi-bin/sh` run `/bin/sh`.
 */
async function resolveScript(config: Config, dir: readonly string[], path: RequestPath): Promise<ScriptTarget> {
  const dirPath = config.root + sep + dir.join(sep);
  const dirStats = await statOrNull(dirPath);
  if (!dirStats?.isDirectory()) throw NOT_FOUND();
  let fsPath = dirPath;
  for (let i = dir.length; i < path.segments.length; i++) {
    fsPath += sep + path.segments[i]!;
    const stats = await statOrNull(fsPath);
    if (!stats) throw NOT_FOUND();
    if (stats.isDirectory()) continue;
    if (!stats.isFile()) throw NOT_FOUND();
    const [realScript, realDir] = await Promise.all([realpath(fsPath), realpath(dirPath)]);
    if (!config.followSymlinks && !isInside(realScript, realDir)) {
      throw new HttpError(404, { logMessage: `script is a symlink out of its directory: ${fsPath}` });
    }
    return scriptTarget(config, fsPath, stats, path, i + 1, realScript === fsPath && realDir === dirPath);
  }
  throw new HttpError(403, { publicMessage: 'Directories in a script directory are neither listed nor run.' });
}

/**
 * How to run a script: through the interpreter mapped to its extension, or
 * directly when it has an execute bit (its shebang picks the interpreter).
 * A file that merely landed in cgi-bin without an execute bit is never run.
 */
function scriptArgv(config: Config, fsPath: string, stats: Stats): string[] {
  const interpreter = config.interpreters.get(extname(fsPath).toLowerCase());
  if (interpreter) return [...interpreter, fsPath];
  if ((stats.mode & 0o111) === 0) {
    throw new HttpError(403, {
      publicMessage: 'This script is not executable, so it is not run. Give it an execute bit or map its extension with --interpreter.',
      logMessage: `script not executable: ${fsPath}`,
    });
  }
  return [fsPath];
}

async function resolveStatic(config: Config, path: RequestPath, method: string): Promise<Found> {
  const fsPath = path.segments.length === 0 ? config.root : config.root + sep + path.segments.join(sep);
  const stats = await statOrNull(fsPath);
  if (!stats) return findScriptWithPathInfo(config, path);
  const realPath = await checkRealPath(config, fsPath, path);
  if (stats.isDirectory()) {
    // Only GET and HEAD are redirected to the slash form; other methods get their 405 from the directory.
    if (path.segments.length > 0 && !path.trailingSlash && (method === 'GET' || method === 'HEAD')) {
      return { kind: 'redirect', location: config.basePath + encodePath(path.segments, true) + queryPart(path) };
    }
    const index = await findIndex(config, fsPath, path);
    if (index) return index;
    if (!config.listing) throw new HttpError(403, { publicMessage: 'Directory listing is turned off.' });
    return {
      kind: 'directory',
      fsPath,
      realPath,
      urlPath: config.basePath + encodePath(path.segments, true),
      segments: path.segments,
      isRoot: path.segments.length === 0,
    };
  }
  if (!stats.isFile()) throw NOT_FOUND();
  if (runsHere(config, path.segments)) return extScript(config, fsPath, realPath, stats, path, path.segments.length);
  // A file asked for as a directory (`/hello.txt/`) is not that file (CPython bpo-17324).
  if (path.trailingSlash) throw NOT_FOUND();
  refuseServerCode(config, realPath);
  return { kind: 'file', fsPath, realPath, stats };
}

/** A directory's index: index.html, else a script index (index.php, index.cgi) whose extension is run; null for none. */
async function findIndex(config: Config, dirPath: string, path: RequestPath): Promise<Found | null> {
  for (const name of INDEX_FILES) {
    const isHtml = name === 'index.html';
    if (!isHtml && !runsHere(config, [...path.segments, name])) continue;
    const indexPath = dirPath + sep + name;
    const indexStats = await statOrNull(indexPath);
    if (!indexStats?.isFile()) continue;
    const indexReal = await checkRealPath(config, indexPath, path);
    if (!isHtml) return extScript(config, indexPath, indexReal, indexStats, { ...path, segments: [...path.segments, name], trailingSlash: false }, path.segments.length + 1);
    refuseServerCode(config, indexReal);
    return { kind: 'file', fsPath: indexPath, realPath: indexReal, stats: indexStats };
  }
  return null;
}

/**
 * A path that names nothing may be a `--cgi-ext` script followed by
 * PATH_INFO (`/app/index.php/users/7`): the first segment with a run
 * extension that is a regular file is the script, as Apache's AcceptPathInfo
 * default for scripts. Only such segments are looked at, so an ordinary 404
 * costs no extra stat.
 */
async function findScriptWithPathInfo(config: Config, path: RequestPath): Promise<Found> {
  let fsPath = config.root;
  for (let i = 0; i < path.segments.length - 1; i++) {
    fsPath += sep + path.segments[i]!;
    if (!runsHere(config, path.segments.slice(0, i + 1))) continue;
    const stats = await statOrNull(fsPath);
    if (!stats) break;
    if (!stats.isFile()) continue;
    return extScript(config, fsPath, await checkRealPath(config, fsPath, path), stats, path, i + 1);
  }
  throw NOT_FOUND();
}

/**
 * Does `--cgi-ext` run the file these segments name? Its extension is listed,
 * scripts are on, and no segment on the way is a dotfile (never run, even
 * with `--dotfiles allow`: `.env.php` is not a page).
 */
function runsHere(config: Config, segments: readonly string[]): boolean {
  if (config.cgiExtensions.size === 0 || !config.cgiEnabled || segments.length === 0) return false;
  if (!config.cgiExtensions.has(extname(segments[segments.length - 1]!).toLowerCase())) return false;
  return !segments.some((s) => s.charCodeAt(0) === 46 /* . */);
}

/** A `--cgi-ext` script: the first `count` segments name it, the rest is PATH_INFO. */
function extScript(config: Config, fsPath: string, realPath: string, stats: Stats, path: RequestPath, count: number): Found {
  return { kind: 'script', script: scriptTarget(config, fsPath, stats, path, count, realPath === fsPath) };
}

/**
 * The script at `fsPath`, named by the first `count` segments of the path
 * (below the base path, which SCRIPT_NAME starts with); the rest is PATH_INFO.
 * `realPathIsPath`: no symlink leads to it (its directory is then what realpath gives).
 */
function scriptTarget(config: Config, fsPath: string, stats: Stats, path: RequestPath, count: number, realPathIsPath: boolean): ScriptTarget {
  const rest = path.segments.slice(count);
  const slash = path.trailingSlash;
  return {
    realPathIsPath,
    argv: scriptArgv(config, fsPath, stats),
    scriptFilename: fsPath,
    scriptName: config.basePath + '/' + path.segments.slice(0, count).join('/'),
    pathInfo: rest.length === 0 ? (slash ? '/' : '') : '/' + rest.join('/') + (slash ? '/' : ''),
    cwd: fsPath.slice(0, fsPath.lastIndexOf(sep)),
    nph: basename(fsPath).startsWith('nph-'),
  };
}

/**
 * A file the server runs is never sent as a file (server-code.ts): a mapped
 * extension outside the script directories is refused with a page that says
 * how to run it instead.
 */
function refuseServerCode(config: Config, realPath: string): void {
  if (!isServerCode(config, realPath)) return;
  const ext = extname(realPath).toLowerCase();
  const how = config.cgiExtensions.has(ext)
    ? 'It is not run here either: scripts are turned off (--no-cgi), or it is a dotfile or reached by another name.'
    : `To run it outside the script directories, start scriptserve with --cgi-ext ${ext}.`;
  throw new HttpError(403, {
    publicMessage: `This file is a script (${ext}), so it is never sent as a file. ${how}`,
    logMessage: `script source refused: ${realPath}`,
  });
}

/**
 * The real path must stay inside the root (a symlink out is a 404 unless
 * followSymlinks), must not be a hidden file (config, route commands), and must
 * not be a script reached by another spelling of its directory
 * (`/CGI-BIN/x.py` on a case-insensitive disk, a symlink into cgi-bin).
 */
async function checkRealPath(config: Config, fsPath: string, path: RequestPath): Promise<string> {
  const real = await realpath(fsPath);
  if (!config.followSymlinks && !isInside(real, config.root)) {
    throw new HttpError(404, { logMessage: `symlink out of the root refused: ${fsPath}` });
  }
  if (config.hiddenFiles.has(real)) throw NOT_FOUND();
  if (scriptDirectoryOf(config, path.segments) !== undefined || inScriptDirectory(config, real)) {
    throw new HttpError(404, { logMessage: `script source refused: ${fsPath}` });
  }
  return real;
}

/** Does this path lead into a script directory (whose answers are never cached)? */
function isScriptPath(config: Config, path: RequestPath): boolean {
  return scriptDirectoryOf(config, path.segments) !== undefined;
}
