import { type AccessPolicy } from './access.js';
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
}
/** A configuration problem, reported at start-up as one line. */
export declare class ConfigError extends Error {
}
export declare const DEFAULT_PORT = 8000;
export declare const DEFAULT_HOST = "127.0.0.1";
export declare const DEFAULT_CGI_DIRS: string[];
export declare const DEFAULT_SCRIPT_TIMEOUT_S = 60;
export declare const DEFAULT_MAX_BODY_BYTES: number;
export declare const DEFAULT_HEADER_TIMEOUT_S = 20;
export declare const DEFAULT_REQUEST_TIMEOUT_S = 60;
export declare const DEFAULT_ROUTE_CONTENT_TYPE = "text/plain; charset=utf-8";
export declare const CONFIG_FILE_NAME = "scriptserve.json";
/**
 * Modules the warm fork server imports by default: common in CGI scripts,
 * present in Python 3.11 to 3.13 (no `cgi`, removed in 3.13), and free of
 * side effects at import (no threads, no open files). Not `random` (nor
 * `email.utils`, which imports it): once loaded, it reseeds itself after
 * every fork, which cost every request about 36 copy-on-write faults
 * (0.1 ms) whether the script used random or not (bench/NOTES.md).
 */
export declare const DEFAULT_WARM_PRELOAD: string[];
/** Default for `maxScripts`: four per core. */
export declare function defaultMaxScripts(): number;
/** Default for `maxQueue`: enough for bursts of ordinary clients, bounded against floods. */
export declare function defaultMaxQueue(maxScripts: number): number;
/**
 * Validate options and resolve everything that does not depend on a request:
 * the root's real path, interpreter and route commands as absolute paths.
 * Throws {@link ConfigError} with a one-line message.
 */
export declare function resolveConfig(options?: ServeOptions): Config;
/** Parse `--interpreter .ext=COMMAND`. */
export declare function parseInterpreterSpec(spec: string): [string, string];
/** Parse `--route 'METHOD /path=COMMAND'`. */
export declare function parseRouteSpec(spec: string): RouteOptions;
/**
 * Resolve a command name to an absolute path once, at start-up: a name with a
 * slash is taken relative to `base`, a bare name is searched in PATH.
 */
export declare function findExecutable(name: string, base: string, what: string): string;
