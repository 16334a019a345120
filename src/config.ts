import { accessSync, closeSync, constants, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { AccessConfigError, loadHtpasswd, normalizeOrigin, parseAuthSpec, type AccessPolicy, type PasswordCheck } from './access.js';
import { splitCommandLine } from './argv.js';
import { warmPythonRefusal } from './cgi/start/python-gate.js';

/** Log sink: receives one formatted access/error line at a time (no trailing newline). */
export type LogWriter = (line: string) => void;

/** How a command route answers. */
export type RouteMode = 'stdout' | 'cgi';

/** A command route as the user writes it (flag or config file). */
export interface RouteOptions {
  /** HTTP method, or `ANY` for every method. */
  method: string;
  /** URL path; a path ending in `/*` matches that prefix. */
  path: string;
  /** The command: a string split like a shell would (no shell runs it) or an argv array. */
  command: string | string[];
  /** `stdout` (default): stdout is the body, 200 on exit 0, 500 otherwise. `cgi`: parse the output as CGI. */
  mode?: RouteMode;
  /** Content-Type of a `stdout` route. Default `text/plain; charset=utf-8`. */
  contentType?: string;
  /** Per-route timeout in seconds. Default: the server's script timeout. */
  timeout?: number;
}

/** Options of {@link createServer} and {@link createHandler}. Every field is optional. */
export interface ServeOptions {
  /** Directory to serve. Default: the current working directory. */
  root?: string;
  /** `Cache-Control: max-age` in seconds for files. Default: none, files are sent with `no-cache` (always revalidate). */
  cache?: number;
  /** `ignore` (default): dotfiles and dot-directories are hidden and answered 404. `allow`: served like any file. */
  dotfiles?: 'ignore' | 'allow';
  /** Follow symlinks whose target is outside the root. Default false (unsafe when true). */
  followSymlinks?: boolean;
  /** Generate listings for directories without index.html. Default true. */
  listing?: boolean;
  /** Access log sink. Default: no logging. */
  log?: LogWriter;
  /** Access log format. Default `text`. */
  logFormat?: 'text' | 'json';
  /** Run scripts in the script directories. Default true. */
  cgi?: boolean;
  /** URL prefixes of script directories. Default `['/cgi-bin/', '/htbin/']`. */
  cgiDirs?: string[];
  /** Extension → command that runs files with that extension (e.g. `{'.py': 'python3'}`). Default none on POSIX. */
  interpreters?: Record<string, string>;
  /** Names of server environment variables passed to scripts besides the allow-list. Default none. */
  passEnv?: string[];
  /** Pass the Authorization header to scripts as HTTP_AUTHORIZATION. Default false. */
  passAuthorization?: boolean;
  /** Seconds a script may run before its process group is killed. Default 60. */
  scriptTimeout?: number;
  /** Scripts running at once; the excess waits in a bounded queue, then gets 503. Default 4 × cores. */
  maxScripts?: number;
  /** Requests that may wait for a script slot; more get 503 at once. Default max(64, 16 × maxScripts). */
  maxQueue?: number;
  /** Largest request body accepted for a script, in bytes. Default 100 MiB. */
  maxBody?: number;
  /** Command routes. Default none (plus those of `scriptserve.json` in the root). */
  routes?: RouteOptions[];
  /** A JSON config file with routes and options. Default: `scriptserve.json` in the root, if present. */
  configFile?: string;
  /** Seconds a client has to send the request headers. Default 20. */
  headerTimeout?: number;
  /** Seconds a client has to send the whole request. Default 60. */
  requestTimeout?: number;
  /** HTTP Basic users as `user:password` (compared in constant time). Default none: no authentication. */
  auth?: string[];
  /** htpasswd file (bcrypt or SHA-256/512 crypt) with the users. Default none. */
  authFile?: string;
  /**
   * Host header values accepted (DNS-rebinding defence). Default: on loopback
   * connections only localhost names and the bound address; `'any'` turns the check off.
   */
  allowedHosts?: string[] | 'any';
  /** Origins allowed to make cross-origin unsafe requests (POST…) from a browser. Default none. */
  allowOrigins?: string[];
  /** Allow cross-origin requests from anywhere and send `Access-Control-Allow-Origin: *`. Default false. */
  cors?: boolean;
  /**
   * Remember resolved paths, small files and listings in memory, invalidated by
   * file-system events (inotify). Default true; turn off on filesystems whose
   * changes raise no events (network mounts changed from other machines).
   */
  fileCache?: boolean;
  /**
   * Warm Python (issue 7): run Python scripts in a child forked from a
   * pre-started interpreter instead of starting one per request. Same
   * semantics as a cold run, apart from the limits the README lists. Default false.
   */
  warmPython?: boolean;
  /** Standard-library modules the warm fork server imports once at start-up. Default {@link DEFAULT_WARM_PRELOAD}. */
  warmPreload?: string[];
  /**
   * The fork server's interpreter command (a path or a name found in PATH, plus flags).
   * Only scripts a cold run would start with exactly this command run warm.
   * Default: the `.py` interpreter mapping if any, else `python3` from PATH.
   */
  warmInterpreter?: string;
  /**
   * Start scripts (cold runs and command routes) from a small helper process
   * with posix_spawn, which is several times cheaper than Node forking itself
   * (bench/NOTES.md). The helper is python3 from PATH, started with the first
   * script; without python3, or while the helper is down, scripts are started
   * with child_process.spawn, as they are when this is false. Default true.
   */
  spawnHelper?: boolean;
}

/** A command route after validation: the command resolved to an absolute path. */
export interface Route {
  readonly method: string;
  readonly path: string;
  readonly prefix: boolean;
  readonly argv: readonly string[];
  readonly mode: RouteMode;
  readonly contentType: string;
  readonly timeoutMs: number;
}

/** Validated, resolved configuration; built once at start-up. */
export interface Config {
  readonly root: string;
  readonly cacheControl: string;
  readonly dotfiles: 'ignore' | 'allow';
  readonly followSymlinks: boolean;
  readonly listing: boolean;
  readonly log: LogWriter | undefined;
  readonly logFormat: 'text' | 'json';
  readonly cgiEnabled: boolean;
  /** Script directories as URL path segments, e.g. `[['cgi-bin'], ['htbin']]`. */
  readonly cgiDirs: readonly (readonly string[])[];
  /** Extension (lower case, with dot) → absolute interpreter argv. */
  readonly interpreters: ReadonlyMap<string, readonly string[]>;
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
  readonly warmPython: boolean;
  readonly warmPreload: readonly string[];
  /** Absolute argv of the warm fork server's interpreter; null when warm mode is off. */
  readonly warmInterpreter: readonly string[] | null;
  /** Absolute argv of the spawn helper's interpreter; null when it is off or no python3 was found. */
  readonly spawnHelper: readonly string[] | null;
}

/** A configuration problem, reported at start-up as one line. */
export class ConfigError extends Error {}

export const DEFAULT_PORT = 8000;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_CGI_DIRS = ['/cgi-bin/', '/htbin/'];
export const DEFAULT_SCRIPT_TIMEOUT_S = 60;
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;
export const DEFAULT_HEADER_TIMEOUT_S = 20;
export const DEFAULT_REQUEST_TIMEOUT_S = 60;
export const DEFAULT_ROUTE_CONTENT_TYPE = 'text/plain; charset=utf-8';
export const CONFIG_FILE_NAME = 'scriptserve.json';
/**
 * Modules the warm fork server imports by default: common in CGI scripts,
 * present in Python 3.11 to 3.13 (no `cgi`, removed in 3.13), and free of
 * side effects at import (no threads, no open files). Not `random` (nor
 * `email.utils`, which imports it): once loaded, it reseeds itself after
 * every fork, which cost every request about 36 copy-on-write faults
 * (0.1 ms) whether the script used random or not (bench/NOTES.md).
 */
export const DEFAULT_WARM_PRELOAD = [
  'os', 'sys', 'io', 're', 'json', 'time', 'datetime', 'urllib.parse', 'html', 'base64', 'hashlib',
  'collections', 'functools', 'string', 'http.cookies',
];

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
export function resolveConfig(options: ServeOptions = {}): Config {
  checkOptionTypes(options as Record<string, unknown>, 'option');
  const root = resolveRoot(options.root ?? process.cwd());
  const fileOptions = loadConfigFile(options.configFile, root);
  const merged: ServeOptions = { ...fileOptions, ...stripUndefined(options) };
  if (fileOptions.routes && options.routes) merged.routes = [...options.routes, ...fileOptions.routes];

  const scriptTimeoutMs = seconds(merged.scriptTimeout ?? DEFAULT_SCRIPT_TIMEOUT_S, 'script timeout');
  const maxScripts = positiveInt(merged.maxScripts ?? defaultMaxScripts(), 'max scripts');
  const routes = (merged.routes ?? []).map((r) => resolveRoute(r, root, scriptTimeoutMs));
  const interpreters = resolveInterpreters(merged.interpreters ?? defaultInterpreters());
  const hidden = new Set<string>();
  if (fileOptions.__file) hidden.add(fileOptions.__file);
  for (const route of routes) for (const arg of route.argv) addIfInside(hidden, arg, root);

  if (options.logFormat !== undefined && options.logFormat !== 'text' && options.logFormat !== 'json') {
    throw new ConfigError(`logFormat must be "text" or "json", not ${JSON.stringify(options.logFormat)}`);
  }
  if (merged.dotfiles !== undefined && merged.dotfiles !== 'ignore' && merged.dotfiles !== 'allow') {
    throw new ConfigError(`dotfiles must be "ignore" or "allow", not ${JSON.stringify(merged.dotfiles)}`);
  }
  return {
    root,
    cacheControl: merged.cache === undefined ? 'no-cache' : `max-age=${nonNegativeInt(merged.cache, 'cache')}`,
    dotfiles: merged.dotfiles ?? 'ignore',
    followSymlinks: merged.followSymlinks ?? false,
    listing: merged.listing ?? true,
    log: options.log,
    logFormat: options.logFormat ?? 'text',
    cgiEnabled: merged.cgi ?? true,
    cgiDirs: (merged.cgiDirs ?? DEFAULT_CGI_DIRS).map(parseCgiDir),
    interpreters,
    passEnv: merged.passEnv ?? [],
    passAuthorization: merged.passAuthorization ?? false,
    scriptTimeoutMs,
    maxScripts,
    maxQueue: merged.maxQueue === undefined ? defaultMaxQueue(maxScripts) : nonNegativeInt(merged.maxQueue, 'max queue'),
    maxBodyBytes: nonNegativeInt(merged.maxBody ?? DEFAULT_MAX_BODY_BYTES, 'max body'),
    routes,
    hiddenFiles: hidden,
    headerTimeoutMs: seconds(merged.headerTimeout ?? DEFAULT_HEADER_TIMEOUT_S, 'header timeout'),
    requestTimeoutMs: seconds(merged.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_S, 'request timeout'),
    access: resolveAccess(options, merged),
    fileCache: merged.fileCache ?? true,
    warmPython: merged.warmPython ?? false,
    warmPreload: resolveWarmPreload(merged.warmPreload ?? DEFAULT_WARM_PRELOAD),
    warmInterpreter: merged.warmPython ? testedWarmInterpreter(resolveWarmInterpreter(merged.warmInterpreter, interpreters), root, merged.passEnv ?? []) : null,
    // No PATH search at start-up for a server that can run no script.
    spawnHelper: merged.spawnHelper === false || ((merged.cgi ?? true) === false && routes.length === 0) ? null : findSpawnHelper(),
  };
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
 * The spawn helper's interpreter: python3 from PATH, isolated from the
 * environment and the user's site (-I) and without site imports (-S), which
 * the helper (cgi/python/) does not need. A python3 that is itself a `#!` script (a
 * pyenv or asdf shim, which resolves a version through a shell every time it
 * starts: seconds on a loaded core, while every script waits on
 * child_process.spawn) is passed over for a later python3 in PATH that is a
 * real interpreter; the helper's Python never runs a script, so which one it is
 * does not matter as long as it starts. Only shims in PATH: the first one.
 * None at all: scripts start with child_process.spawn.
 */
function findSpawnHelper(): string[] | null {
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

/** Access options. Credentials come only from the caller (flags), never from a file inside the served root. */
function resolveAccess(options: ServeOptions, merged: ServeOptions): AccessPolicy {
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
      allowedOrigins: new Set((merged.allowOrigins ?? []).map(normalizeOrigin)),
      cors: merged.cors ?? false,
    };
  } catch (err) {
    if (err instanceof AccessConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

type OptionKind = 'boolean' | 'number' | 'string' | 'strings' | 'record' | 'array' | 'function' | 'hosts';

/** The type of every option, checked once so that a config file's `"followSymlinks": "false"` is an error, not a truthy string. */
const OPTION_KINDS: Record<string, OptionKind> = {
  root: 'string', cache: 'number', dotfiles: 'string', followSymlinks: 'boolean', listing: 'boolean', log: 'function',
  logFormat: 'string', cgi: 'boolean', cgiDirs: 'strings', interpreters: 'record', passEnv: 'strings',
  passAuthorization: 'boolean', scriptTimeout: 'number', maxScripts: 'number', maxQueue: 'number', maxBody: 'number', routes: 'array',
  configFile: 'string', headerTimeout: 'number', requestTimeout: 'number', auth: 'strings', authFile: 'string',
  allowedHosts: 'hosts', allowOrigins: 'strings', cors: 'boolean', fileCache: 'boolean',
  warmPython: 'boolean', warmPreload: 'strings', warmInterpreter: 'string', spawnHelper: 'boolean',
};

/**
 * What a config file may set: every option except those only the caller
 * gives (the root and the file itself, logging, and credentials, which have
 * their own --auth-file).
 */
const KNOWN_CONFIG_KEYS = new Set(
  Object.keys(OPTION_KINDS).filter((k) => !['root', 'configFile', 'log', 'logFormat', 'auth', 'authFile'].includes(k)),
);

function hasKind(value: unknown, kind: OptionKind): boolean {
  const strings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
  switch (kind) {
    case 'strings':
      return strings(value);
    case 'record':
      return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((x) => typeof x === 'string');
    case 'array':
      return Array.isArray(value);
    case 'hosts':
      return value === 'any' || strings(value);
    default:
      return typeof value === kind;
  }
}

function checkOptionTypes(options: Record<string, unknown>, what: string): void {
  for (const [key, value] of Object.entries(options)) {
    const kind = OPTION_KINDS[key];
    if (value === undefined || kind === undefined) continue;
    if (!hasKind(value, kind)) {
      const expected = { strings: 'a list of strings', record: 'an object of strings', array: 'a list', hosts: 'a list of host names or "any"' }[kind as string] ?? `a ${kind}`;
      throw new ConfigError(`${what} "${key}" must be ${expected}, not ${JSON.stringify(value)}`);
    }
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
  for (const key of Object.keys(data)) {
    if (!KNOWN_CONFIG_KEYS.has(key)) throw new ConfigError(`config file ${path}: unknown key "${key}"`);
  }
  checkOptionTypes(data as Record<string, unknown>, `config file ${path}: key`);
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

/** Parse `--interpreter .ext=COMMAND`. */
export function parseInterpreterSpec(spec: string): [string, string] {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) throw new ConfigError(`--interpreter takes .EXT=COMMAND, not ${JSON.stringify(spec)}`);
  return [spec.slice(0, eq), spec.slice(eq + 1)];
}

/** Parse `--route 'METHOD /path=COMMAND'`. */
export function parseRouteSpec(spec: string): RouteOptions {
  const eq = spec.indexOf('=');
  const head = eq > 0 ? spec.slice(0, eq).trim().split(/\s+/) : [];
  if (head.length !== 2 || eq === spec.length - 1) {
    throw new ConfigError(`--route takes 'METHOD /path=COMMAND', not ${JSON.stringify(spec)}`);
  }
  return { method: head[0]!, path: head[1]!, command: spec.slice(eq + 1) };
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

function resolveRoute(r: RouteOptions, root: string, defaultTimeoutMs: number): Route {
  if (typeof r !== 'object' || r === null) throw new ConfigError('a route must be an object');
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
  return {
    method,
    path,
    prefix,
    argv,
    mode,
    contentType: r.contentType ?? DEFAULT_ROUTE_CONTENT_TYPE,
    timeoutMs: r.timeout === undefined ? defaultTimeoutMs : seconds(r.timeout, `${what} timeout`),
  };
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
