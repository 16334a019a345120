/**
 * THE option table: every option of scriptserve, once. From it come the
 * command-line flags and their parsing, `--help`, the config-file keys and
 * their checks, and the library's {@link ServeOptions} type. Adding an option
 * is one entry here plus its use (in config.ts's resolveConfig, or cli-main.ts for
 * the command-line-only ones); README.md's options table is checked against
 * `--help` by test/options.test.mjs.
 */
import { availableParallelism } from 'node:os';
import {
  BOOLEAN,
  ConfigError,
  InvalidArgumentError,
  NUMBER,
  STRING,
  STRINGS,
  STRING_RECORD,
  choice,
  either,
  func,
  listOf,
  type OptionTable,
  type ValueOf,
} from './option-spec.js';
import { parseHeaderSpec, type HeaderRuleOptions } from './response-headers.js';
import type { RedirectRuleOptions, RewriteRuleOptions } from './rewrite.js';
import type { HookOptions } from './webhook/hook.js';

export const DEFAULT_PORT = 8000;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_SCRIPT_TIMEOUT_S = 60;
export const DEFAULT_HEADER_TIMEOUT_S = 20;
export const DEFAULT_REQUEST_TIMEOUT_S = 60;
/** Seconds the server waits for in-flight requests and scripts on SIGINT/SIGTERM. */
export const DEFAULT_SHUTDOWN_GRACE_S = 10;
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

/** Log sink: receives one formatted access/error line at a time (no trailing newline). */
export type LogWriter = (line: string) => void;

/** How a command route answers. */
export type RouteMode = 'stdout' | 'cgi';

/** A command route as the user writes it (flag or config file); the webhook keys are in {@link HookOptions}. */
export interface RouteOptions extends HookOptions {
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
  /** Largest request body, in bytes or as a size such as `"10M"`. Default: the server's `maxBody`. */
  maxBody?: number | string;
  /** Requests of this route running at once; more get 503. Default: no limit of its own (async jobs: 1, more queue). */
  maxConcurrent?: number;
  /** Response headers added to this route's answers. */
  headers?: Record<string, string>;
  /** Status of a stdout route whose command exits 0. Default 200. */
  successStatus?: number;
  /** Status of a stdout route whose command fails. Default 500. */
  failureStatus?: number;
}

/** A TCP port: 0 to 65535. */
export function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535.');
  return Number(value);
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds.');
  return n;
}

/** Seconds, zero allowed (--drain-delay). */
function parseDelay(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds, 0 or more.');
  return n;
}

/** A URL path for --health: starts with `/`, no query, nothing to decode. */
export function parseHealthPath(value: string): string {
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(value)) throw new InvalidArgumentError('must be a URL path such as /healthz.');
  return value;
}

/** An octal file mode such as 0660 or 660. */
function parseSocketMode(value: string): number {
  if (!/^0?[0-7]{3}$/.test(value)) throw new InvalidArgumentError('must be an octal mode such as 0660.');
  return parseInt(value, 8);
}

function parseCount(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a positive integer.');
  return Number(value);
}

function parseNonNegative(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number.');
  return Number(value);
}

/** `100M`, `64k`, `1G` or plain bytes (binary multiples). */
export function parseBytes(value: string): number {
  const m = /^(\d+)\s*([kKmMgG]?)i?[bB]?$/.exec(value);
  if (!m) throw new InvalidArgumentError('must be a size in bytes, such as 1048576, 512K, 100M or 1G.');
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * scale;
}

function parseWorkers(value: string): number {
  if (value === 'auto') return availableParallelism();
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 256) throw new InvalidArgumentError('must be a number of processes from 1 to 256, or auto.');
  return Number(value);
}

/** `-H 'Name: value'`: its name and value are checked by resolveConfig (response-headers.ts). */
function headerSpec(spec: string): HeaderRuleOptions {
  try {
    return parseHeaderSpec(spec);
  } catch {
    throw new InvalidArgumentError("must be 'Name: value'.");
  }
}

/** `--ext html` (or `.html`). */
function parseExt(value: string): string {
  const ext = value.replace(/^\./, '');
  if (!/^[A-Za-z0-9]+$/.test(ext)) throw new InvalidArgumentError('must be a file extension such as html.');
  return ext;
}

/** `a, b,,c` → `['a', 'b', 'c']`. */
const commaList = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);

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

/**
 * The table. Each key is the option's name in {@link ServeOptions} and in
 * scriptserve.json; its JSDoc is what library users see. The order is the
 * order of `--help`.
 */
export const OPTIONS = {
  /** Directory to serve. Default: the current working directory. */
  root: {
    kind: STRING, scope: 'caller', flag: 'directory', short: 'd', arg: 'dir',
    help: 'directory to serve (default: the current directory)',
  },
  /** Command line only: the port to listen on. Default 8000. */
  port: {
    kind: NUMBER, scope: 'cli', flag: 'port', short: 'p', arg: 'port', parse: parsePort,
    help: `port to listen on; 0 picks a free one (default: ${DEFAULT_PORT})`,
  },
  /** Command line only: the address to listen on, or `unix:PATH` for a Unix socket. Default 127.0.0.1. */
  bind: {
    kind: STRING, scope: 'cli', flag: 'bind', short: 'b', arg: 'address',
    help: `address to bind; 0.0.0.0 or :: exposes the server to the network; unix:PATH listens on a Unix socket (default: ${DEFAULT_HOST})`,
  },
  /** PEM certificate (with its chain) to serve HTTPS with; needs {@link tlsKey}. Default: none, plain HTTP. Reloaded on SIGHUP. */
  tlsCert: {
    kind: STRING, flag: 'tls-cert', arg: 'file',
    help: 'serve HTTPS with this PEM certificate (and chain); needs --tls-key; reloaded on SIGHUP (default: plain HTTP)',
  },
  /** PEM private key of {@link tlsCert}. Default: none. */
  tlsKey: {
    kind: STRING, flag: 'tls-key', arg: 'file',
    help: 'PEM private key of --tls-cert (default: none)',
  },
  /** File whose first line is the password of an encrypted {@link tlsKey}. Default: none. */
  tlsPasswordFile: {
    kind: STRING, flag: 'tls-password-file', arg: 'file',
    help: 'file whose first line is the password of an encrypted --tls-key (default: none)',
  },
  /**
   * Serve HTTPS with a self-signed certificate for localhost, 127.0.0.1, ::1
   * and the bound name, generated once and cached under the user's cache
   * directory until it nears expiry. Default false.
   */
  tlsSelfSigned: {
    kind: BOOLEAN, flag: 'tls-self-signed',
    help: "serve HTTPS with a self-signed certificate for localhost, 127.0.0.1, ::1 and the bound name, kept in the user's cache directory and reused (default: off)",
  },
  /** Over TLS, offer HTTP/2 by ALPN beside HTTP/1.1. Default true. */
  http2: {
    kind: BOOLEAN, flag: 'http2',
    no: 'over TLS, offer HTTP/1.1 only (default: HTTP/2 by ALPN, HTTP/1.1 as fallback)',
  },
  /** Also accept cleartext HTTP/2 with prior knowledge on the plain-HTTP port, which keeps serving HTTP/1.1. Default false. */
  h2c: {
    kind: BOOLEAN, flag: 'h2c',
    help: 'also accept cleartext HTTP/2 with prior knowledge (h2c) on the same port as HTTP/1.1 (default: off)',
  },
  /** `Cache-Control: max-age` in seconds for files. Default: none, files are sent with `no-cache` (always revalidate). */
  cache: {
    kind: NUMBER, flag: 'cache', arg: 'seconds', parse: parseNonNegative,
    help: 'send Cache-Control: max-age=SECONDS for files (default: no-cache, always revalidate)',
  },
  /** `ignore` (default): dotfiles and dot-directories are hidden and answered 404. `allow`: served like any file. */
  dotfiles: {
    kind: choice('ignore', 'allow'), flag: 'dotfiles', arg: 'mode',
    help: 'hide dotfiles and dot-directories (404), or serve them (choices: ignore, allow; default: ignore)',
  },
  /** Follow symlinks whose target is outside the root. Default false (unsafe when true). */
  followSymlinks: {
    kind: BOOLEAN, flag: 'follow-symlinks',
    help: 'follow symlinks that point outside the root (unsafe: exposes their targets) (default: off)',
  },
  /** Generate listings for directories without index.html. Default true. */
  listing: {
    kind: BOOLEAN, flag: 'listing',
    no: 'answer 403 instead of listing directories without index.html',
  },
  /**
   * Offer each listed folder as a tar archive (`?download=tar`), holding
   * exactly what static serving would serve from it. Default false.
   */
  archives: {
    kind: BOOLEAN, flag: 'archives',
    help: 'let listed folders be downloaded as tar archives with ?download=tar (default: off)',
  },
  /**
   * Remember resolved paths, small files and listings in memory, invalidated by
   * file-system events (inotify). Default true; turn off on filesystems whose
   * changes raise no events (network mounts changed from other machines).
   */
  fileCache: {
    kind: BOOLEAN, flag: 'file-cache',
    no: 'do not keep files and listings in memory (for filesystems whose changes raise no inotify events)',
  },
  /**
   * Live reload for development: HTML files get a script tag that opens a
   * Server-Sent Events stream, and any change under the root reloads every
   * open page (a changed `.css` file is swapped in place). Default false.
   */
  liveReload: {
    kind: BOOLEAN, flag: 'live-reload',
    help: 'reload open pages when a file under the root changes; CSS is swapped in place (default: off)',
  },
  /** Command line only: open the served URL in the default browser once listening. Default false. */
  open: {
    kind: BOOLEAN, scope: 'cli', flag: 'open',
    help: 'open the served URL in the default browser (xdg-open, open or start) once listening (default: off)',
  },
  /**
   * Compress responses (gzip, Brotli) for clients that accept it: files of
   * compressible types over 1 KiB, precompressed `file.br`/`file.gz` copies,
   * and script output. Default true.
   */
  compress: {
    kind: BOOLEAN, flag: 'compress',
    help: 'gzip or Brotli text, JSON, JavaScript, SVG, XML and WASM over 1 KiB, serve file.br/file.gz copies, compress script output, for clients that accept it (the default)',
    no: 'send every file and script output as it is, without content coding',
  },
  /** Accept uploads (multipart POST to a folder, PUT of a file) into every folder under the root. Default false. */
  upload: {
    kind: BOOLEAN, flag: 'upload',
    help: 'accept uploads into every folder: multipart/form-data POST to a folder, PUT of a file (default: off)',
  },
  /** URL paths of the folders (and their subfolders) that accept uploads; implies {@link upload}. Default none. */
  uploadDirs: {
    kind: STRINGS, flag: 'upload-dir', arg: 'path', repeat: true,
    help: 'accept uploads only into this folder and its subfolders, repeatable; implies --upload (default: every folder)',
  },
  /** What an upload does to a name that exists: 409 (`error`), store `name (1).ext` (`rename`), or replace it atomically (`overwrite`). Default `error`. */
  onConflict: {
    kind: choice('error', 'rename', 'overwrite'), flag: 'on-conflict', arg: 'policy',
    help: 'when an uploaded name exists: answer 409, store "name (1).ext", or replace it (choices: error, rename, overwrite; default: error)',
  },
  /** Let uploads create missing folders (folder uploads from a browser; PUT to a new path). Default false. */
  uploadMkdir: {
    kind: BOOLEAN, flag: 'upload-mkdir',
    help: 'let uploads create missing folders: folder uploads from a browser, PUT to a new path (default: off, 409)',
  },
  /** Largest upload request body, in bytes. Default 1 GiB. */
  maxUpload: {
    kind: NUMBER, flag: 'max-upload', arg: 'bytes', parse: parseBytes,
    help: 'largest upload request, e.g. 500M; more is 413 and the connection is closed (default: 1G)',
  },
  /** Most files in one upload request. Default 1000. */
  maxUploadFiles: {
    kind: NUMBER, flag: 'max-upload-files', arg: 'n', parse: parseCount,
    help: 'most files in one upload request; more is 413 (default: 1000)',
  },
  /** Upload requests served at once; more get 503 with Retry-After. Default 16. */
  maxUploads: {
    kind: NUMBER, flag: 'max-uploads', arg: 'n', parse: parseCount,
    help: 'upload requests served at once; more get 503 with Retry-After (default: 16)',
  },
  /** Command line only: no access log on stdout (the library's is {@link log}). Default false. */
  quiet: {
    kind: BOOLEAN, scope: 'cli', flag: 'quiet', short: 'q',
    help: 'do not print access-log lines (default: print them)',
  },
  /** Access log sink. Default: no logging. */
  log: { kind: func<LogWriter>(), scope: 'caller' },
  /** Access log format. Default `text`. */
  logFormat: {
    kind: choice('text', 'json'), scope: 'caller', flag: 'log-format', arg: 'format',
    help: 'access log format (choices: text, json; default: text)',
  },
  /** Seconds a client has to send the request headers. Default 20. */
  headerTimeout: {
    kind: NUMBER, flag: 'header-timeout', arg: 'seconds', parse: parseSeconds,
    help: `time a client has to send the request headers (default: ${DEFAULT_HEADER_TIMEOUT_S})`,
  },
  /** Seconds a client has to send the whole request. Default 60. */
  requestTimeout: {
    kind: NUMBER, flag: 'request-timeout', arg: 'seconds', parse: parseSeconds,
    help: `time a client has to send the whole request (default: ${DEFAULT_REQUEST_TIMEOUT_S})`,
  },
  /** Command line only: seconds a stop signal leaves requests and scripts to finish. Default 10. */
  shutdownGrace: {
    kind: NUMBER, scope: 'cli', flag: 'shutdown-grace', arg: 'seconds', parse: parseSeconds,
    help: `on SIGINT/SIGTERM, time to let requests and scripts finish (default: ${DEFAULT_SHUTDOWN_GRACE_S})`,
  },
  /**
   * Command line only: on SIGINT/SIGTERM, seconds the health check answers
   * 503 before the server stops listening (set it above the load balancer's
   * check interval). Default 0.
   */
  drainDelay: {
    kind: NUMBER, scope: 'cli', flag: 'drain-delay', arg: 'seconds', parse: parseDelay,
    help: 'on SIGINT/SIGTERM, answer the health check 503 for this long before closing; set it above the balancer\'s check interval (default: 0)',
  },
  /** URL path of the health check (`/healthz`): 200 `ok`, 503 while stopping; before auth and the Host check. Default: none. */
  health: {
    kind: STRING, flag: 'health', arg: 'path', parse: parseHealthPath,
    help: 'answer this URL path (e.g. /healthz) with 200 ok, or 503 while stopping, before authentication and the Host check (default: none)',
  },
  /** Write access-log lines for health checks. Default false. */
  logHealth: {
    kind: BOOLEAN, flag: 'log-health',
    help: 'log health-check requests too (default: off, they are not logged)',
  },
  /**
   * Peers whose forwarding headers (Forwarded, X-Forwarded-For/-Proto/-Host/-Port)
   * are believed: addresses, CIDR networks, `loopback`, `unix`. Default none.
   */
  trustProxy: {
    kind: STRINGS, scope: 'caller', flag: 'trust-proxy', arg: 'addrs', parse: commaList,
    help: 'comma-separated proxy addresses or networks (CIDR), "loopback", "unix", whose Forwarded/X-Forwarded-* headers give the client, scheme and host (default: none)',
  },
  /** Command line only: permissions of the `--bind unix:PATH` socket file, in octal (`0660`). Default: from the umask. */
  socketMode: {
    kind: NUMBER, scope: 'cli', flag: 'socket-mode', arg: 'mode', parse: parseSocketMode,
    help: 'permissions of the --bind unix:PATH socket, in octal, e.g. 0660 (default: from the umask)',
  },
  /** Run scripts in the script directories. Default true. */
  cgi: {
    kind: BOOLEAN, flag: 'cgi',
    help: 'run scripts in the script directories (the default; accepted for python compatibility)',
    no: 'never run scripts; script directories are served as plain folders',
  },
  /** URL prefixes of script directories. Default `['/cgi-bin/', '/htbin/']`. */
  cgiDirs: {
    kind: STRINGS, flag: 'cgi-dir', arg: 'path', repeat: true,
    help: 'URL path of a script directory, repeatable; replaces the defaults (default: /cgi-bin/ and /htbin/)',
  },
  /** Extension → command that runs files with that extension (e.g. `{'.py': 'python3'}`). Default none on POSIX. */
  interpreters: {
    kind: STRING_RECORD, flag: 'interpreter', arg: '.ext=command', repeat: true,
    parse: parseInterpreterSpec, collect: (specs: unknown[]) => Object.fromEntries(specs as [string, string][]),
    help: 'run files with this extension through COMMAND, executable or not, repeatable, e.g. .py=python3 (default: none; on Windows .py .js .mjs .cjs .pl .rb .php)',
  },
  /**
   * Extensions (`.php`) whose files run as scripts wherever they are under
   * the root, as Apache's `AddHandler cgi-script` and lighttpd's
   * `cgi.assign`: through their interpreter if one is mapped, else directly
   * (execute bit required). Never dotfiles. Default none.
   */
  cgiExt: {
    kind: STRINGS, flag: 'cgi-ext', arg: '.ext', repeat: true, parse: commaList,
    collect: (items: unknown[]) => (items as string[][]).flat(),
    help: 'run files with these extensions anywhere under the root as scripts, repeatable or comma-separated, e.g. .php,.cgi; directory index order: index.html, index.php, index.cgi (default: none)',
  },
  /** Names of server environment variables passed to scripts besides the allow-list. Default none. */
  passEnv: {
    kind: STRINGS, flag: 'pass-env', arg: 'name', repeat: true,
    help: "pass this variable of the server's environment to scripts, repeatable (default: only PATH, LANG, LC_*, TZ)",
  },
  /** Pass the Authorization header to scripts as HTTP_AUTHORIZATION. Default false. */
  passAuthorization: {
    kind: BOOLEAN, flag: 'pass-authorization',
    help: 'pass the Authorization header to scripts as HTTP_AUTHORIZATION (default: off)',
  },
  /** Seconds a script may run before its process group is killed. Default 60. */
  scriptTimeout: {
    kind: NUMBER, flag: 'script-timeout', arg: 'seconds', parse: parseSeconds,
    help: `kill a script's process group after this long (default: ${DEFAULT_SCRIPT_TIMEOUT_S})`,
  },
  /** Scripts running at once; the excess waits in a bounded queue, then gets 503. Default 4 × cores. */
  maxScripts: {
    kind: NUMBER, flag: 'max-scripts', arg: 'n', parse: parseCount,
    help: 'scripts running at once; more wait briefly, then get 503 (default: 4 × cores)',
  },
  /** Requests that may wait for a script slot; more get 503 at once. Default max(64, 16 × maxScripts). */
  maxQueue: {
    kind: NUMBER, flag: 'max-queue', arg: 'n', parse: parseNonNegative,
    help: 'requests that may wait for a script slot (up to 10 s); more get 503 at once (default: max(64, 16 × max-scripts))',
  },
  /** Largest request body accepted for a script, in bytes. Default 100 MiB. */
  maxBody: {
    kind: NUMBER, flag: 'max-body', arg: 'bytes', parse: parseBytes,
    help: 'largest request body a script accepts, e.g. 100M (default: 100M)',
  },
  /**
   * Warm Python (issue 7): run Python scripts in a child forked from a
   * pre-started interpreter instead of starting one per request. Same
   * semantics as a cold run, apart from the limits the README lists. Default false.
   */
  warmPython: {
    kind: BOOLEAN, flag: 'warm-python',
    help: 'run Python scripts in children forked from a pre-started interpreter (same semantics, much faster start; see README) (default: off)',
  },
  /** Standard-library modules the warm fork server imports once at start-up. Default {@link DEFAULT_WARM_PRELOAD}. */
  warmPreload: {
    kind: STRINGS, flag: 'warm-preload', arg: 'modules', parse: commaList,
    help: `comma-separated modules the warm interpreter imports once (default: ${DEFAULT_WARM_PRELOAD.join(',')})`,
  },
  /**
   * The fork server's interpreter command (a path or a name found in PATH, plus flags).
   * Only scripts a cold run would start with exactly this command run warm.
   * Default: the `.py` interpreter mapping if any, else `python3` from PATH.
   */
  warmInterpreter: {
    kind: STRING, flag: 'warm-interpreter', arg: 'command',
    help: 'interpreter of the warm fork server; only scripts a cold run starts with it run warm (default: the .py --interpreter, else python3 from PATH)',
  },
  /**
   * Start scripts (cold runs and command routes) from a small helper process
   * with posix_spawn, which is several times cheaper than Node forking itself
   * (bench/NOTES.md). The helper is python3 from PATH, started with the first
   * script; without python3, or while the helper is down, scripts are started
   * with child_process.spawn, as they are when this is false. Default true.
   */
  spawnHelper: {
    kind: BOOLEAN, flag: 'spawn-helper',
    no: "start every script with Node's child_process.spawn, not from the posix_spawn helper (a python3 process; see README)",
  },
  /** Command routes. Default none (plus those of `scriptserve.json` in the root). */
  routes: {
    kind: listOf<RouteOptions>(), flag: 'route', arg: 'spec', repeat: true, parse: parseRouteSpec,
    help: "command route 'METHOD /path=COMMAND' (METHOD may be ANY; /path/* matches a prefix), repeatable (default: none)",
    qualifier: {
      flag: 'route-type', arg: 'type',
      help: 'Content-Type of the --route given just before it (default: text/plain; charset=utf-8)',
      apply: (route: RouteOptions, type: string): RouteOptions => ({ ...route, contentType: type }),
    },
  },
  /** HTTP Basic users as `user:password` (compared in constant time). Default none: no authentication. */
  auth: {
    kind: STRINGS, scope: 'caller', flag: 'auth', arg: 'user:password', repeat: true,
    help: 'require HTTP Basic authentication with this user, repeatable (default: none, no authentication)',
  },
  /** htpasswd file (bcrypt or SHA-256/512 crypt) with the users. Default none. */
  authFile: {
    kind: STRING, scope: 'caller', flag: 'auth-file', arg: 'file',
    help: 'require HTTP Basic authentication against an htpasswd file (bcrypt: htpasswd -B, or SHA-256/512 crypt) (default: none)',
  },
  /**
   * Host header values accepted (DNS-rebinding defence). Default: on loopback
   * connections only localhost names and the bound address; `'any'` turns the check off.
   */
  allowedHosts: {
    kind: either(STRINGS, choice('any'), 'a list of host names or "any"'), flag: 'allowed-hosts', arg: 'names',
    parse: (names: string): string[] | 'any' => (names === 'any' ? 'any' : commaList(names)),
    help: 'comma-separated Host names accepted, or "any" (default: localhost names and the bound address, on loopback)',
  },
  /**
   * Origins allowed to make cross-origin requests (POST…) from a browser and
   * read the answers (`Access-Control-Allow-Origin: <origin>`): exact, or a
   * pattern such as `https://*.example.com` (not the bare domain). Default none.
   */
  allowOrigins: {
    kind: STRINGS, flag: 'allow-origin', arg: 'origin', repeat: true,
    help: 'let this origin (https://app.example, or https://*.example.com) make cross-origin requests and read the answers, repeatable (default: none)',
  },
  /** Allow cross-origin requests from anywhere and send `Access-Control-Allow-Origin: *`. Default false. */
  cors: {
    kind: BOOLEAN, flag: 'cors',
    help: 'allow cross-origin requests from any origin and send Access-Control-Allow-Origin: *, without credentials (default: off)',
  },
  /**
   * `Access-Control-Allow-Credentials: true` for the {@link allowOrigins}
   * origins (never with `*`); a start-up error without `allowOrigins`. Default false.
   */
  corsCredentials: {
    kind: BOOLEAN, flag: 'cors-credentials',
    help: 'let the --allow-origin origins send cookies and credentials: Access-Control-Allow-Credentials: true (default: off)',
  },
  /** Response headers a cross-origin page may read (`Access-Control-Expose-Headers`). Default none. */
  corsExpose: {
    kind: STRINGS, flag: 'cors-expose', arg: 'headers', parse: commaList,
    help: 'comma-separated response headers cross-origin pages may read (Access-Control-Expose-Headers) (default: none)',
  },
  /** Hand CORS preflights for scripts and routes to them instead of answering them. Default false. */
  scriptsAnswerPreflight: {
    kind: BOOLEAN, flag: 'scripts-answer-preflight',
    help: 'hand CORS preflights (OPTIONS) for scripts and routes to them, for applications that do CORS themselves (default: the server answers)',
  },
  /**
   * Headers added to responses: `-H 'Name: value'` (every response), or in
   * the config file serve.json's `[{"source": "**\/*.js", "headers": {…}}]`.
   * A script's own header of the same name wins on its responses. Default none.
   */
  headers: {
    kind: listOf<HeaderRuleOptions>(), flag: 'header', short: 'H', arg: 'name: value', repeat: true, parse: headerSpec,
    help: "add this header to every response, repeatable; a script's own header of that name wins (default: none)",
  },
  /** Single-page app: answer misses that look like pages with this file (`true`: index.html), status 200. Default off. */
  spa: {
    kind: either(BOOLEAN, STRING, 'true or a file name'), flag: 'spa', arg: 'file', optional: true,
    help: 'single-page app: answer GETs for missing extension-less paths that accept HTML with FILE (default: off; FILE: index.html)',
  },
  /** `html`: `/about` serves `about.html` when `about` does not exist. Default off. */
  ext: {
    kind: STRING, flag: 'ext', arg: 'ext', parse: parseExt,
    help: 'serve /name from name.EXT when /name does not exist, e.g. --ext html (default: off)',
  },
  /** serve's cleanUrls: implies `ext: 'html'` and redirects `/about.html` to `/about` (301). Default false. */
  cleanUrls: {
    kind: BOOLEAN, flag: 'clean-urls',
    help: 'serve /about from about.html and redirect /about.html to /about (implies --ext html) (default: off)',
  },
  /** Config file: serve.json's `redirects` (`[{"source": "/old/:path*", "destination": "/new/:path*", "status": 301}]`). */
  redirects: { kind: listOf<RedirectRuleOptions>() },
  /** Config file: serve.json's `rewrites`, internal, for paths that name nothing (`[{"source": "/api/:x", "destination": "/cgi-bin/api.py/:x"}]`). */
  rewrites: { kind: listOf<RewriteRuleOptions>() },
  /** Serve everything below this URL prefix (`/app`); requests outside it are 404. Default none. */
  basePath: {
    kind: STRING, flag: 'base-path', arg: 'path',
    help: 'serve everything (files, scripts, routes, built-in paths) below this URL prefix, e.g. /app; outside it is 404 (default: none)',
  },
  /** Command line only: processes sharing the port (node:cluster). Default 1. */
  workers: {
    kind: NUMBER, scope: 'cli', flag: 'workers', arg: 'n', parse: parseWorkers,
    help: 'serve from N processes sharing the port (node:cluster); "auto" is one per core; limits such as --max-scripts apply per worker (default: 1)',
  },
  /** A JSON config file with routes and options. Default: `scriptserve.json` in the root, if present. */
  configFile: {
    kind: STRING, scope: 'caller', flag: 'config', arg: 'file',
    help: 'JSON config file with routes and options (default: scriptserve.json in the root, if present)',
  },
  /** Command line only: re-read the config file when it changes, as SIGHUP does. Default false. */
  watchConfig: {
    kind: BOOLEAN, scope: 'cli', flag: 'watch-config',
    help: "re-read the config file when it changes, as SIGHUP does: routes, webhook rules and secrets take effect for new requests (default: off)",
  },
  /** Command line only: print the version and exit. */
  version: { kind: BOOLEAN, scope: 'cli', flag: 'version', short: 'V', help: 'print the version' },
  /** Command line only: print --help and exit. */
  help: { kind: BOOLEAN, scope: 'cli', flag: 'help', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

type Table = typeof OPTIONS;

/** Every option's value type, by name. */
export type OptionValues = { -readonly [K in keyof Table]: ValueOf<Table[K]> };

/** The options only the command line has (`scope: 'cli'`). */
export type CliOnlyKey = { [K in keyof Table]: Table[K] extends { readonly scope: 'cli' } ? K : never }[keyof Table];

/**
 * Options of {@link createServer} and {@link createHandler}: every option of
 * the table except the command-line-only ones, each optional. Keys not listed
 * here are a ConfigError.
 */
export type ServeOptions = Partial<Pick<OptionValues, Exclude<keyof Table, CliOnlyKey>>>;

/** The library's part of the command line's values: every option but the command-line-only ones. */
export function serveOptionsOf(values: Partial<OptionValues>): ServeOptions {
  const table: OptionTable = OPTIONS;
  return Object.fromEntries(Object.entries(values).filter(([key]) => table[key]?.scope !== 'cli')) as ServeOptions;
}
