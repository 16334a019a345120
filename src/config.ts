import { accessSync, closeSync, constants, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { AccessConfigError, loadHtpasswd, parseAuthSpec, type AccessPolicy, type PasswordCheck } from './access.js';
import { splitCommandLine } from './argv.js';
import { parseTrustedProxies, TrustListError, type TrustedProxies } from './forwarded.js';
import { ConfigError, InvalidArgumentError, checkOptionValues } from './option-spec.js';
import {
  DEFAULT_HEADER_TIMEOUT_S,
  DEFAULT_REQUEST_TIMEOUT_S,
  DEFAULT_SCRIPT_TIMEOUT_S,
  DEFAULT_WARM_PRELOAD,
  OPTIONS,
  parseHealthPath,
  parseBytes,
  type LogWriter,
  type RouteMode,
  type RouteOptions,
  type ServeOptions,
} from './options.js';
import { warmPythonRefusal } from './cgi/start/python-gate.js';
import { corsPolicy, type CorsPolicy } from './cors.js';
import { spaPath, type LookupOptions } from './lookup.js';
import { encodePath } from './request-path.js';
import { HeaderConfigError, ResponseHeaders } from './response-headers.js';
import { RuleConfigError, UrlRules } from './rewrite.js';
import { hasHookKeys, resolveHook, type Hook } from './webhook/hook.js';
import { loadTls, tlsSourceOf, type TlsMaterial, type TlsSource } from './transport/tls.js';
import { resolveUploadConfig, type UploadConfig } from './upload/config.js';
import { TOKEN } from './token.js';

export { ConfigError } from './option-spec.js';
export {
  DEFAULT_HEADER_TIMEOUT_S,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_REQUEST_TIMEOUT_S,
  DEFAULT_SCRIPT_TIMEOUT_S,
  DEFAULT_WARM_PRELOAD,
  parseInterpreterSpec,
  parseRouteSpec,
  type LogWriter,
  type RouteMode,
  type RouteOptions,
  type ServeOptions,
} from './options.js';

/** A command route after validation: the command resolved to an absolute path. */
export interface Route {
  readonly method: string;
  readonly path: string;
  readonly prefix: boolean;
  readonly argv: readonly string[];
  readonly mode: RouteMode;
  readonly contentType: string;
  readonly timeoutMs: number;
  /** Largest request body (413 beyond). */
  readonly maxBodyBytes: number;
  /** Requests running at once (Infinity: none of its own); async jobs beyond it queue. */
  readonly maxConcurrent: number;
  /** Response headers added to every answer of the route. */
  readonly headers: readonly (readonly [string, string])[];
  readonly successStatus: number;
  readonly failureStatus: number;
  /** Webhook behaviour (verification, rules, mapping, async), or null for a plain route. */
  readonly hook: Hook | null;
}

/** Validated, resolved configuration; built once at start-up. */
export interface Config {
  readonly root: string;
  readonly cacheControl: string;
  readonly dotfiles: 'ignore' | 'allow';
  readonly followSymlinks: boolean;
  readonly listing: boolean;
  /** `?download=tar` on a listed folder streams it as a tar archive. */
  readonly archives: boolean;
  readonly log: LogWriter | undefined;
  readonly logFormat: 'text' | 'json';
  readonly cgiEnabled: boolean;
  /** Script directories as URL path segments, e.g. `[['cgi-bin'], ['htbin']]`. */
  readonly cgiDirs: readonly (readonly string[])[];
  /** Extension (lower case, with dot) → absolute interpreter argv. */
  readonly interpreters: ReadonlyMap<string, readonly string[]>;
  /** Extensions (lower case, with dot) run as scripts anywhere under the root (`--cgi-ext`). */
  readonly cgiExtensions: ReadonlySet<string>;
  /**
   * Extensions whose files are code, never sent as files (server-code.ts):
   * those mapped with `--interpreter` and those of `--cgi-ext`. Not the
   * Windows default mappings, which exist for script directories: with them,
   * every static `.js` would be refused.
   */
  readonly codeExtensions: ReadonlySet<string>;
  readonly passEnv: readonly string[];
  readonly passAuthorization: boolean;
  readonly scriptTimeoutMs: number;
  readonly maxScripts: number;
  readonly maxQueue: number;
  readonly maxBodyBytes: number;
  readonly routes: readonly Route[];
  /** Real paths that are never served as files: the config file and route commands inside the root. */
  readonly hiddenFiles: ReadonlySet<string>;
  readonly headerTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly access: AccessPolicy;
  readonly fileCache: boolean;
  /** Inject the live-reload script into HTML files and serve its endpoints (live-reload/). */
  readonly liveReload: boolean;
  /** Content codings for files and script output (compress.ts). */
  readonly compress: boolean;
  readonly warmPython: boolean;
  readonly warmPreload: readonly string[];
  /** Absolute argv of the warm fork server's interpreter; null when warm mode is off. */
  readonly warmInterpreter: readonly string[] | null;
  /** Absolute argv of the spawn helper's interpreter; null when it is off or no python3 was found. */
  readonly spawnHelper: readonly string[] | null;
  /** URL path of the health check (health.ts); null when off. */
  readonly health: string | null;
  readonly logHealth: boolean;
  /** Peers whose forwarding headers are believed (forwarded.ts); null when none. */
  readonly trustProxy: TrustedProxies | null;
  /** The cross-origin policy (cors.ts). */
  readonly crossOrigin: CorsPolicy;
  /** Headers added to responses (`-H`, config `headers`, CORS); null when there are none. */
  readonly responseHeaders: ResponseHeaders | null;
  /** The config file's redirects and rewrites, and cleanUrls; null when there are none. */
  readonly urlRules: UrlRules | null;
  /** The aliases of a miss: `--ext`, `--spa`. */
  readonly lookup: LookupOptions;
  /** `--base-path`: `''`, or a prefix such as `/app` (percent-encoded, no trailing slash) below which everything is served. */
  readonly basePath: string;
  /** What this config was built from: the caller's options and the config file as read (for a reload to compare). */
  readonly source: { readonly options: ServeOptions; readonly file: FileOptions };
  /** HTTPS: where the certificate comes from and what was loaded at start-up; null for plain HTTP. */
  readonly tls: { readonly source: TlsSource; readonly material: TlsMaterial } | null;
  /** Over TLS, offer HTTP/2 by ALPN (with HTTP/1.1 fallback). */
  readonly http2: boolean;
  /** Without TLS, also accept HTTP/2 with prior knowledge on the same port. */
  readonly h2c: boolean;
  /** Uploads (src/upload/): null when off. */
  readonly upload: UploadConfig | null;
}

export const DEFAULT_CGI_DIRS = ['/cgi-bin/', '/htbin/'];
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;
export const DEFAULT_ROUTE_CONTENT_TYPE = 'text/plain; charset=utf-8';
export const CONFIG_FILE_NAME = 'scriptserve.json';

/** Default for `maxScripts`: four per core. */
export function defaultMaxScripts(): number {
  return 4 * availableParallelism();
}

/** Default for `maxQueue`: enough for bursts of ordinary clients, bounded against floods. */
export function defaultMaxQueue(maxScripts: number): number {
  return Math.max(64, 16 * maxScripts);
}

/**
 * Validate options and resolve everything that does not depend on a request:
 * the root's real path, interpreter and route commands as absolute paths.
 * Throws {@link ConfigError} with a one-line message.
 */
export function resolveConfig(options: ServeOptions = {}, listen: { host?: string } = {}): Config {
  checkOptionValues(OPTIONS, options as Record<string, unknown>, 'caller', 'option', (key) => `unknown option "${key}"`);
  const root = resolveRoot(options.root ?? process.cwd());
  const fileOptions = loadConfigFile(options.configFile, root);
  const merged: ServeOptions = { ...fileOptions, ...stripUndefined(options) };
  if (fileOptions.routes && options.routes) merged.routes = [...options.routes, ...fileOptions.routes];
  // The file's headers first, so a caller's (-H) header of the same name is set last and wins.
  if (fileOptions.headers && options.headers) merged.headers = [...fileOptions.headers, ...options.headers];

  const scriptTimeoutMs = seconds(merged.scriptTimeout ?? DEFAULT_SCRIPT_TIMEOUT_S, 'script timeout');
  const maxScripts = positiveInt(merged.maxScripts ?? defaultMaxScripts(), 'max scripts');
  const maxBodyBytes = nonNegativeInt(merged.maxBody ?? DEFAULT_MAX_BODY_BYTES, 'max body');
  const routes = resolveRoutes(merged.routes ?? [], { root, timeoutMs: scriptTimeoutMs, maxBodyBytes });
  const interpreters = resolveInterpreters(merged.interpreters ?? defaultInterpreters());
  const crossOrigin = resolveCrossOrigin(merged);
  const cgiDirs = (merged.cgiDirs ?? DEFAULT_CGI_DIRS).map(parseCgiDir);
  const cgiExtensions = resolveCgiExtensions(merged.cgiExt ?? []);
  const codeExtensions = new Set([...(merged.interpreters ? interpreters.keys() : []), ...cgiExtensions]);
  const tls = resolveTls(merged, listen.host);
  const hidden = hiddenFilesOf(routes, fileOptions.__file, root, tls, options.authFile);

  return {
    root,
    cacheControl: merged.cache === undefined ? 'no-cache' : `max-age=${nonNegativeInt(merged.cache, 'cache')}`,
    dotfiles: merged.dotfiles ?? 'ignore',
    followSymlinks: merged.followSymlinks ?? false,
    listing: merged.listing ?? true,
    archives: merged.archives ?? false,
    log: options.log,
    logFormat: options.logFormat ?? 'text',
    cgiEnabled: merged.cgi ?? true,
    cgiDirs,
    interpreters,
    cgiExtensions,
    codeExtensions,
    passEnv: merged.passEnv ?? [],
    passAuthorization: merged.passAuthorization ?? false,
    scriptTimeoutMs,
    maxScripts,
    maxQueue: merged.maxQueue === undefined ? defaultMaxQueue(maxScripts) : nonNegativeInt(merged.maxQueue, 'max queue'),
    maxBodyBytes,
    routes,
    hiddenFiles: hidden,
    headerTimeoutMs: seconds(merged.headerTimeout ?? DEFAULT_HEADER_TIMEOUT_S, 'header timeout'),
    requestTimeoutMs: seconds(merged.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_S, 'request timeout'),
    access: resolveAccess(options, merged, crossOrigin),
    fileCache: merged.fileCache ?? true,
    liveReload: merged.liveReload ?? false,
    compress: merged.compress ?? true,
    warmPython: merged.warmPython ?? false,
    warmPreload: resolveWarmPreload(merged.warmPreload ?? DEFAULT_WARM_PRELOAD),
    warmInterpreter: merged.warmPython ? testedWarmInterpreter(resolveWarmInterpreter(merged.warmInterpreter, interpreters), root, merged.passEnv ?? []) : null,
    // No PATH search at start-up for a server that can run no script.
    spawnHelper: merged.spawnHelper === false || ((merged.cgi ?? true) === false && routes.length === 0) ? null : findHelperPython(),
    health: merged.health === undefined ? null : checked(parseHealthPath, merged.health, 'health'),
    logHealth: merged.logHealth ?? false,
    trustProxy: resolveTrustProxy(options.trustProxy),
    crossOrigin,
    ...resolveWeb(merged, crossOrigin),
    source: { options, file: fileOptions },
    tls,
    http2: merged.http2 ?? true,
    h2c: merged.h2c ?? false,
    upload: resolveUploadConfig(merged),
  };
}

/** The TLS options, loaded and checked once (transport/tls.ts); null for plain HTTP. */
function resolveTls(merged: ServeOptions, host: string | undefined): Config['tls'] {
  const source = tlsSourceOf(merged, host);
  if (source === null) {
    if (merged.http2 === false && merged.h2c) throw new ConfigError('--h2c and --no-http2 contradict each other');
    return null;
  }
  if (merged.h2c) throw new ConfigError('--h2c is cleartext HTTP/2; with TLS, HTTP/2 is negotiated by ALPN (see --no-http2)');
  return { source, material: loadTls(source) };
}

/** Hide the TLS key and its password file when they sit inside the root. */
function addTlsFiles(hidden: Set<string>, tls: Config['tls'], root: string): void {
  if (tls?.source.kind !== 'files') return;
  for (const file of [tls.source.key, tls.source.passwordFile]) if (file) addIfInside(hidden, file, root);
}

/** A value from a config file or a library caller, through the command line's own parser. */
function checked<T>(parse: (raw: string) => T, value: string, what: string): T {
  try {
    return parse(value);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new ConfigError(`${what} ${JSON.stringify(value)} ${err.message}`);
    throw err;
  }
}

/** `--trust-proxy` (the caller's only: a file in the served root must not choose whom to believe). */
function resolveTrustProxy(entries: readonly string[] | undefined): TrustedProxies | null {
  const list = (entries ?? []).flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean);
  if (list.length === 0) return null;
  try {
    return parseTrustedProxies(list);
  } catch (err) {
    if (err instanceof TrustListError) throw new ConfigError(err.message);
    throw err;
  }
}

/**
 * Re-read the config file for a reload (SIGHUP, --watch-config): its routes,
 * with their webhook rules, verification and secrets, replace the old ones
 * for new requests. Any other key that changed is named in `restart`: it
 * shapes the process (listening, workers, pools, interpreters) and takes
 * effect only on a restart. Throws ConfigError for a bad file: the caller
 * keeps the old config.
 */
export function reloadRoutes(old: Config): { config: Config; restart: string[] } {
  const { options } = old.source;
  const file = loadConfigFile(options.configFile, old.root);
  const list = [...(options.routes ?? []), ...(file.routes ?? [])];
  const routes = resolveRoutes(list, { root: old.root, timeoutMs: old.scriptTimeoutMs, maxBodyBytes: old.maxBodyBytes });
  const restart = Object.keys({ ...old.source.file, ...file }).filter(
    (key) => key !== 'routes' && key !== '__file' && !(key in stripUndefined(options)) && JSON.stringify(old.source.file[key as keyof FileOptions]) !== JSON.stringify(file[key as keyof FileOptions]),
  );
  return {
    config: { ...old, routes, hiddenFiles: hiddenFilesOf(routes, file.__file, old.root, old.tls, options.authFile), source: { options, file } },
    restart,
  };
}

/**
 * The web conventions (issue 19): response headers, redirects and rewrites,
 * the aliases of a miss, the base path.
 */
function resolveWeb(merged: ServeOptions, crossOrigin: CorsPolicy): Pick<Config, 'responseHeaders' | 'urlRules' | 'lookup' | 'basePath'> {
  try {
    const headers = new ResponseHeaders(crossOrigin, merged.headers ?? []);
    const cleanUrls = merged.cleanUrls ?? false;
    const hasRules = cleanUrls || (merged.redirects ?? []).length > 0 || (merged.rewrites ?? []).length > 0;
    return {
      responseHeaders: headers.active ? headers : null,
      urlRules: hasRules ? new UrlRules({ redirects: merged.redirects, rewrites: merged.rewrites, cleanUrls }) : null,
      lookup: {
        ext: merged.ext ?? (cleanUrls ? 'html' : null),
        spa: merged.spa === undefined || merged.spa === false ? null : spaPath(merged.spa === true ? 'index.html' : merged.spa),
      },
      basePath: resolveBasePath(merged.basePath),
    };
  } catch (err) {
    if (err instanceof HeaderConfigError || err instanceof RuleConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

/** Does an interpreter's flag list contain `-c`, `-m` or `-` (which would replace the fork server)? */
function runsOtherCode(flags: readonly string[]): boolean {
  for (let i = 0; i < flags.length; i++) {
    const arg = flags[i]!;
    if (arg === '-' || !arg.startsWith('-') || arg.startsWith('--')) continue;
    for (let j = 1; j < arg.length; j++) {
      if (arg[j] === 'c' || arg[j] === 'm') return true;
      if (arg[j] === 'W' || arg[j] === 'X') {
        if (j === arg.length - 1) i++; // the value is the next argument
        break;
      }
    }
  }
  return flags.includes('-');
}

/** Module names only (`urllib.parse`): the list is passed to the fork server, which imports each. */
function resolveWarmPreload(names: string[]): string[] {
  for (const name of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) {
      throw new ConfigError(`warm preload entries must be module names such as urllib.parse, not ${JSON.stringify(name)}`);
    }
  }
  return names;
}

/**
 * The warm fork server's interpreter, as a cold run would start it: the
 * given command, else the `.py` mapping, else python3 from PATH. `-c` and `-m`
 * would run something other than the fork server, so they are refused.
 */
function resolveWarmInterpreter(command: string | undefined, interpreters: ReadonlyMap<string, readonly string[]>): string[] {
  let argv: string[];
  if (command !== undefined) {
    argv = parseCommand(command, 'warm interpreter');
    argv[0] = findExecutable(argv[0]!, process.cwd(), 'warm interpreter');
  } else if (interpreters.has('.py')) {
    argv = [...interpreters.get('.py')!];
  } else {
    try {
      argv = [findExecutable('python3', process.cwd(), 'warm python')];
    } catch {
      throw new ConfigError('warm python: python3 not found in PATH; name the interpreter with --warm-interpreter');
    }
  }
  if (runsOtherCode(argv.slice(1))) {
    throw new ConfigError(`warm interpreter must be an interpreter with flags, without -c, -m or -: ${JSON.stringify(argv.join(' '))}`);
  }
  return argv;
}

/** The warm interpreter, once warmPythonRefusal (cgi/start/python-gate.ts) has found it tested here. */
function testedWarmInterpreter(argv: string[], root: string, passEnv: readonly string[]): string[] {
  const refusal = warmPythonRefusal(argv, root, passEnv);
  if (refusal) throw new ConfigError(refusal);
  return argv;
}

/**
 * The interpreter of the server's own Python helpers (the spawn helper,
 * seal.ts): python3 from PATH, isolated from the
 * environment and the user's site (-I) and without site imports (-S), which
 * the helper (cgi/python/) does not need. A python3 that is itself a `#!` script (a
 * pyenv or asdf shim, which resolves a version through a shell every time it
 * starts: seconds on a loaded core, while every script waits on
 * child_process.spawn) is passed over for a later python3 in PATH that is a
 * real interpreter; the helpers never run a script, so which one it is does
 * not matter as long as it starts. Only shims in PATH: the first one.
 * None at all: scripts start with child_process.spawn.
 */
export function findHelperPython(): string[] | null {
  let first: string | null = null;
  for (const candidate of executables('python3', process.cwd())) {
    if (!startsWithShebang(candidate)) return [candidate, '-I', '-S'];
    first ??= candidate;
  }
  return first === null ? null : [first, '-I', '-S'];
}

/** Does the file start with `#!` (a script, not a binary)? Unreadable counts as a script. */
function startsWithShebang(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x23 && head[1] === 0x21;
  } catch {
    return true;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The cross-origin options (cors.ts), checked together: --cors-credentials needs --allow-origin. */
function resolveCrossOrigin(merged: ServeOptions): CorsPolicy {
  try {
    return corsPolicy(merged);
  } catch (err) {
    if (err instanceof AccessConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

/** `--base-path /app/` → `/app`: plain segments, percent-encoded as a request would spell them. */
function resolveBasePath(value: string | undefined): string {
  if (value === undefined) return '';
  const segments = value.split('/').filter((s) => s !== '');
  if (!value.startsWith('/') || segments.some((s) => s === '.' || s === '..' || /[?#%\\\0-\x1f\x7f]/.test(s))) {
    throw new ConfigError(`base path must be a URL path such as /app, not ${JSON.stringify(value)}`);
  }
  return segments.length === 0 ? '' : encodePath(segments, false);
}

/** Access options. Credentials come only from the caller (flags), never from a file inside the served root. */
function resolveAccess(options: ServeOptions, merged: ServeOptions, crossOrigin: CorsPolicy): AccessPolicy {
  try {
    let users: Map<string, PasswordCheck> | null = null;
    if (options.authFile) users = loadHtpasswd(resolve(options.authFile));
    for (const spec of options.auth ?? []) {
      const [user, check] = parseAuthSpec(spec);
      (users ??= new Map()).set(user, check);
    }
    const hosts = merged.allowedHosts;
    if (hosts !== undefined && hosts !== 'any' && !Array.isArray(hosts)) throw new AccessConfigError('allowedHosts must be a list of host names or "any"');
    return {
      users,
      allowedHosts: hosts === undefined ? 'loopback' : hosts === 'any' || hosts.includes('any') ? 'any' : new Set(hosts.map((h) => h.toLowerCase())),
      allowedOrigins: crossOrigin.origins,
      cors: merged.cors ?? false,
    };
  } catch (err) {
    if (err instanceof AccessConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function resolveRoot(dir: string): string {
  const abs = resolve(dir);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    throw new ConfigError(`root directory does not exist: ${abs}`);
  }
  if (!statSync(real).isDirectory()) throw new ConfigError(`root is not a directory: ${abs}`);
  try {
    accessSync(real, constants.R_OK | constants.X_OK);
  } catch {
    throw new ConfigError(`root directory is not readable: ${abs}`);
  }
  return real;
}

type FileOptions = ServeOptions & { __file?: string };

function loadConfigFile(explicit: string | undefined, root: string): FileOptions {
  const path = explicit ? resolve(explicit) : join(root, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`config file ${path} must hold a JSON object`);
  }
  checkOptionValues(OPTIONS, data as Record<string, unknown>, 'file', `config file ${path}: key`, (key) => `config file ${path}: unknown key "${key}"`);
  return { ...(data as FileOptions), __file: realpathSync(path) };
}

function addIfInside(set: Set<string>, arg: string, root: string): void {
  if (!isAbsolute(arg) || !arg.startsWith(root + '/')) return;
  try {
    set.add(realpathSync(arg));
  } catch {
    /* not a file: nothing to hide */
  }
}

/** `/cgi-bin/` → `['cgi-bin']`; rejects anything that is not a plain absolute URL path. */
function parseCgiDir(dir: string): string[] {
  const segments = dir.split('/').filter((s) => s !== '');
  if (!dir.startsWith('/') || segments.length === 0 || segments.some((s) => s === '.' || s === '..')) {
    throw new ConfigError(`script directory must be a URL path such as /cgi-bin/, not ${JSON.stringify(dir)}`);
  }
  return segments;
}

/** On Windows, which has no execute bit, the usual interpreters run scripts by extension. */
function defaultInterpreters(): Record<string, string> {
  if (process.platform !== 'win32') return {};
  return { '.py': 'python', '.js': 'node', '.mjs': 'node', '.cjs': 'node', '.pl': 'perl', '.rb': 'ruby', '.php': 'php-cgi' };
}

function resolveCgiExtensions(list: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const ext of list) {
    if (!/^\.[A-Za-z0-9_-]+$/.test(ext)) throw new ConfigError(`--cgi-ext takes extensions such as .php or .cgi, not ${JSON.stringify(ext)}`);
    out.add(ext.toLowerCase());
  }
  return out;
}

function resolveInterpreters(map: Record<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [ext, command] of Object.entries(map)) {
    if (!/^\.[A-Za-z0-9_.-]+$/.test(ext)) throw new ConfigError(`interpreter extension must look like .py, not ${JSON.stringify(ext)}`);
    const argv = parseCommand(command, `interpreter for ${ext}`);
    argv[0] = findExecutable(argv[0]!, process.cwd(), `interpreter for ${ext}`);
    out.set(ext.toLowerCase(), argv);
  }
  return out;
}

function parseCommand(command: string | string[], what: string): string[] {
  let argv: string[];
  try {
    argv = Array.isArray(command) ? [...command] : splitCommandLine(command);
  } catch (err) {
    throw new ConfigError(`${what}: ${(err as Error).message}`);
  }
  if (argv.length === 0 || argv.some((a) => typeof a !== 'string')) throw new ConfigError(`${what}: empty command`);
  return argv;
}

/** What a route inherits from the server. */
interface RouteDefaults {
  readonly root: string;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
}

const ROUTE_KEYS = new Set([
  'method', 'path', 'command', 'mode', 'contentType', 'timeout', 'maxBody', 'maxConcurrent', 'headers', 'successStatus', 'failureStatus',
  'verify', 'authFile', 'allowFrom', 'when', 'env', 'args', 'response', 'jobs', 'maxJobs',
]);

function resolveRoutes(list: readonly RouteOptions[], defaults: RouteDefaults): Route[] {
  if (!Array.isArray(list)) throw new ConfigError('routes must be a list');
  return list.map((r) => resolveRoute(r, defaults));
}

/**
 * Real paths never served as files (and never replaced by an upload): the
 * config file; route commands and webhook secret and htpasswd files; the TLS
 * key and its password file; the --auth-file. One list for start-up and for
 * a reload, so a reload hides exactly what start-up hid.
 */
function hiddenFilesOf(routes: readonly Route[], configFile: string | undefined, root: string, tls: Config['tls'], authFile: string | undefined): Set<string> {
  const hidden = new Set<string>();
  if (configFile) hidden.add(configFile);
  for (const route of routes) {
    for (const arg of route.argv) addIfInside(hidden, arg, root);
    for (const file of route.hook?.files ?? []) addIfInside(hidden, file, root);
  }
  addTlsFiles(hidden, tls, root);
  if (authFile) addIfInside(hidden, resolve(authFile), root);
  return hidden;
}

function resolveRoute(r: RouteOptions, defaults: RouteDefaults): Route {
  const { root } = defaults;
  if (typeof r !== 'object' || r === null) throw new ConfigError('a route must be an object');
  // A misspelt key ("verfiy") must not leave a webhook unverified.
  const unknown = Object.keys(r).find((k) => !ROUTE_KEYS.has(k));
  if (unknown !== undefined) throw new ConfigError(`route ${String(r.method)} ${String(r.path)}: unknown key "${unknown}"`);
  const method = String(r.method ?? '').toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw new ConfigError(`route method must be a word such as POST or ANY, not ${JSON.stringify(r.method)}`);
  if (typeof r.path !== 'string' || !r.path.startsWith('/')) throw new ConfigError(`route path must start with /, not ${JSON.stringify(r.path)}`);
  const prefix = r.path.endsWith('/*');
  const path = prefix ? r.path.slice(0, -1) : r.path;
  if (r.contentType !== undefined && typeof r.contentType !== 'string') throw new ConfigError(`route contentType must be a string`);
  if (r.timeout !== undefined && typeof r.timeout !== 'number') throw new ConfigError(`route timeout must be a number of seconds`);
  const mode = r.mode ?? 'stdout';
  if (mode !== 'stdout' && mode !== 'cgi') throw new ConfigError(`route mode must be "stdout" or "cgi", not ${JSON.stringify(mode)}`);
  const what = `route ${method} ${r.path}`;
  const argv = parseCommand(r.command, what);
  argv[0] = findExecutable(argv[0]!, root, what);
  for (let i = 1; i < argv.length; i++) {
    // Relative file arguments are resolved against the root (the command's working directory).
    const candidate = join(root, argv[i]!);
    if (!argv[i]!.startsWith('-') && !isAbsolute(argv[i]!) && existsFile(candidate)) argv[i] = candidate;
  }
  const hook = hasHookKeys(r) ? resolveHook(r, what, root) : null;
  return {
    method,
    path,
    prefix,
    argv,
    mode,
    contentType: r.contentType ?? DEFAULT_ROUTE_CONTENT_TYPE,
    timeoutMs: r.timeout === undefined ? defaults.timeoutMs : seconds(r.timeout, `${what} timeout`),
    maxBodyBytes: r.maxBody === undefined ? defaults.maxBodyBytes : routeBytes(r.maxBody, `${what} maxBody`),
    maxConcurrent: r.maxConcurrent === undefined ? (hook?.async ? 1 : Infinity) : positiveInt(r.maxConcurrent, `${what} maxConcurrent`),
    headers: routeHeaders(r.headers, what),
    successStatus: r.successStatus === undefined ? 200 : status(r.successStatus, `${what} successStatus`),
    failureStatus: r.failureStatus === undefined ? 500 : status(r.failureStatus, `${what} failureStatus`),
    hook,
  };
}

function routeBytes(value: number | string, what: string): number {
  if (typeof value === 'number') return nonNegativeInt(value, what);
  try {
    return parseBytes(String(value));
  } catch (err) {
    throw new ConfigError(`${what} ${(err as Error).message}`);
  }
}

function status(value: unknown, what: string): number {
  if (!Number.isInteger(value) || (value as number) < 200 || (value as number) > 599) throw new ConfigError(`${what} must be a status from 200 to 599`);
  return value as number;
}

/** A route's response headers: token names, values without CR, LF or NUL (they would split the response). */
function routeHeaders(headers: unknown, what: string): [string, string][] {
  if (headers === undefined) return [];
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) throw new ConfigError(`${what}: headers must be an object of name: value`);
  return Object.entries(headers).map(([name, value]) => {
    if (!TOKEN.test(name)) throw new ConfigError(`${what}: header name ${JSON.stringify(name)} is not a token`);
    if (typeof value !== 'string' || /[\r\n\0]/.test(value)) throw new ConfigError(`${what}: header ${name} must be a string without CR, LF or NUL`);
    return [name, value];
  });
}

function existsFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Resolve a command name to an absolute path once, at start-up: a name with a
 * slash is taken relative to `base`, a bare name is searched in PATH.
 */
export function findExecutable(name: string, base: string, what: string): string {
  for (const candidate of executables(name, base)) return candidate;
  throw new ConfigError(`${what}: command not found or not executable: ${name}`);
}

/** The executable files `name` may mean, in order: itself (against `base`) when it has a `/`, else each match in PATH. */
function* executables(name: string, base: string): Generator<string> {
  const candidates = name.includes('/')
    ? [resolve(base, name)]
    : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    yield candidate;
  }
}

function seconds(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${what} must be a positive number of seconds, not ${JSON.stringify(value)}`);
  }
  return Math.ceil(value * 1000);
}

function positiveInt(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${what} must be a positive integer, not ${JSON.stringify(value)}`);
  return value;
}

function nonNegativeInt(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError(`${what} must be a non-negative integer, not ${JSON.stringify(value)}`);
  return value;
}
