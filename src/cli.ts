#!/usr/bin/env node
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { isWorker, onStopMessage, runPrimary } from './cluster.js';
import {
  ConfigError,
  DEFAULT_HEADER_TIMEOUT_S,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_REQUEST_TIMEOUT_S,
  DEFAULT_SCRIPT_TIMEOUT_S,
  DEFAULT_WARM_PRELOAD,
  parseInterpreterSpec,
  parseRouteSpec,
  resolveConfig,
  type Config,
  type RouteOptions,
  type ServeOptions,
} from './config.js';
import { closeGracefully, createServer, killScripts } from './server.js';
import { VERSION } from './version.js';

/** Seconds the server waits for in-flight requests and scripts on SIGINT/SIGTERM. */
const DEFAULT_SHUTDOWN_GRACE_S = 10;

/** A bad command-line value: its message completes "option '--flag <value>' argument 'x' is invalid." */
class InvalidArgumentError extends Error {}

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('must be a port number from 0 to 65535.');
  return Number(value);
}

function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds.');
  return n;
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
function parseBytes(value: string): number {
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

/**
 * One command-line option: what node:util.parseArgs parses, and what --help
 * shows. `value` names the argument of an option that takes one (the others
 * are switches); `repeat` collects every occurrence in order.
 */
interface OptionSpec {
  readonly long: string;
  readonly short?: string;
  readonly value?: string;
  readonly help: string;
  readonly parse?: (value: string) => unknown;
  readonly choices?: readonly string[];
  readonly repeat?: boolean;
}

const OPTIONS: readonly OptionSpec[] = [
  { long: 'directory', short: 'd', value: 'dir', help: 'directory to serve (default: the current directory)' },
  { long: 'port', short: 'p', value: 'port', help: `port to listen on; 0 picks a free one (default: ${DEFAULT_PORT})`, parse: parsePort },
  { long: 'bind', short: 'b', value: 'address', help: `address to bind; 0.0.0.0 or :: exposes the server to the network (default: ${DEFAULT_HOST})` },
  { long: 'cache', value: 'seconds', help: 'send Cache-Control: max-age=SECONDS for files (default: no-cache, always revalidate)', parse: parseNonNegative },
  { long: 'dotfiles', value: 'mode', help: 'hide dotfiles and dot-directories (404), or serve them (choices: ignore, allow; default: ignore)', choices: ['ignore', 'allow'] },
  { long: 'follow-symlinks', help: 'follow symlinks that point outside the root (unsafe: exposes their targets) (default: off)' },
  { long: 'no-listing', help: 'answer 403 instead of listing directories without index.html' },
  { long: 'no-file-cache', help: 'do not keep files and listings in memory (for filesystems whose changes raise no inotify events)' },
  { long: 'quiet', short: 'q', help: 'do not print access-log lines (default: print them)' },
  { long: 'log-format', value: 'format', help: 'access log format (choices: text, json; default: text)', choices: ['text', 'json'] },
  { long: 'header-timeout', value: 'seconds', help: `time a client has to send the request headers (default: ${DEFAULT_HEADER_TIMEOUT_S})`, parse: parseSeconds },
  { long: 'request-timeout', value: 'seconds', help: `time a client has to send the whole request (default: ${DEFAULT_REQUEST_TIMEOUT_S})`, parse: parseSeconds },
  { long: 'shutdown-grace', value: 'seconds', help: `on SIGINT/SIGTERM, time to let requests and scripts finish (default: ${DEFAULT_SHUTDOWN_GRACE_S})`, parse: parseSeconds },
  { long: 'cgi', help: 'run scripts in the script directories (the default; accepted for python compatibility)' },
  { long: 'no-cgi', help: 'never run scripts; script directories are served as plain folders' },
  { long: 'cgi-dir', value: 'path', repeat: true, help: 'URL path of a script directory, repeatable; replaces the defaults (default: /cgi-bin/ and /htbin/)' },
  { long: 'interpreter', value: '.ext=command', repeat: true, help: 'run files with this extension through COMMAND, executable or not, repeatable, e.g. .py=python3 (default: none; on Windows .py .js .mjs .cjs .pl .rb .php)' },
  { long: 'pass-env', value: 'name', repeat: true, help: "pass this variable of the server's environment to scripts, repeatable (default: only PATH, LANG, LC_*, TZ)" },
  { long: 'pass-authorization', help: 'pass the Authorization header to scripts as HTTP_AUTHORIZATION (default: off)' },
  { long: 'script-timeout', value: 'seconds', help: `kill a script's process group after this long (default: ${DEFAULT_SCRIPT_TIMEOUT_S})`, parse: parseSeconds },
  { long: 'max-scripts', value: 'n', help: 'scripts running at once; more wait briefly, then get 503 (default: 4 × cores)', parse: parseCount },
  { long: 'max-queue', value: 'n', help: 'requests that may wait for a script slot (up to 10 s); more get 503 at once (default: max(64, 16 × max-scripts))', parse: parseNonNegative },
  { long: 'max-body', value: 'bytes', help: 'largest request body a script accepts, e.g. 100M (default: 100M)', parse: parseBytes },
  { long: 'warm-python', help: 'run Python scripts in children forked from a pre-started interpreter (same semantics, much faster start; see README) (default: off)' },
  { long: 'warm-preload', value: 'modules', help: `comma-separated modules the warm interpreter imports once (default: ${DEFAULT_WARM_PRELOAD.join(',')})` },
  { long: 'warm-interpreter', value: 'command', help: 'interpreter of the warm fork server; only scripts a cold run starts with it run warm (default: the .py --interpreter, else python3 from PATH)' },
  { long: 'no-spawn-helper', help: "start every script with Node's child_process.spawn, not from the posix_spawn helper (a python3 process; see README)" },
  { long: 'route', value: 'spec', repeat: true, help: "command route 'METHOD /path=COMMAND' (METHOD may be ANY; /path/* matches a prefix), repeatable (default: none)" },
  { long: 'route-type', value: 'type', repeat: true, help: 'Content-Type of the --route given just before it (default: text/plain; charset=utf-8)' },
  { long: 'auth', value: 'user:password', repeat: true, help: 'require HTTP Basic authentication with this user, repeatable (default: none, no authentication)' },
  { long: 'auth-file', value: 'file', help: 'require HTTP Basic authentication against an htpasswd file (bcrypt: htpasswd -B, or SHA-256/512 crypt) (default: none)' },
  { long: 'allowed-hosts', value: 'names', help: 'comma-separated Host names accepted, or "any" (default: localhost names and the bound address, on loopback)' },
  { long: 'allow-origin', value: 'origin', repeat: true, help: 'let this origin (https://app.example) make cross-origin POSTs and other unsafe requests, repeatable (default: none)' },
  { long: 'cors', help: 'allow cross-origin requests from any origin and send Access-Control-Allow-Origin: * (default: off)' },
  { long: 'workers', value: 'n', help: 'serve from N processes sharing the port (node:cluster); "auto" is one per core; limits such as --max-scripts apply per worker (default: 1)', parse: parseWorkers },
  { long: 'config', value: 'file', help: 'JSON config file with routes and options (default: scriptserve.json in the root, if present)' },
  { long: 'version', short: 'V', help: 'print the version' },
  { long: 'help', short: 'h', help: 'show this help' },
];

const flagsOf = (o: OptionSpec): string => `${o.short ? `-${o.short}, ` : ''}--${o.long}${o.value ? ` <${o.value}>` : ''}`;

/** The --help text, wrapped to 80 columns like most tools' help. */
function helpText(): string {
  const width = 80;
  const entries: [string, string][] = [
    ...OPTIONS.map((o): [string, string] => [flagsOf(o), o.help]),
  ];
  const column = Math.max(...entries.map(([flags]) => flags.length), 'PORT|DIR'.length) + 4;
  const wrap = (text: string, indent: number): string => {
    const lines: string[] = [];
    let line = '';
    for (const word of text.split(' ')) {
      if (line && indent + line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(line);
    return lines.join('\n' + ' '.repeat(indent));
  };
  const row = (left: string, text: string): string => `  ${left.padEnd(column - 2)}${wrap(text, column)}`;
  return [
    'Usage: scriptserve [PORT|DIR] [options]',
    '',
    wrap('Serve a folder over HTTP and answer requests with the output of scripts (CGI/1.1 and command routes).', 0),
    '',
    'Arguments:',
    row('PORT|DIR', 'a number is the port (as python -m http.server), anything else the directory (as http-server)'),
    '',
    'Options:',
    ...entries.map(([flags, text]) => row(flags, text)),
    '',
  ].join('\n');
}

/** Edit distance, for "did you mean" on a mistyped option. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

function unknownOption(arg: string): string {
  const name = arg.replace(/^-+/, '').replace(/=.*/, '');
  const best = OPTIONS.map((o) => ({ o, d: distance(name, o.long) })).sort((x, y) => x.d - y.d)[0];
  const hint = arg.startsWith('--') && best && best.d <= Math.max(1, Math.floor(name.length / 3)) ? ` (did you mean --${best.o.long}?)` : '';
  return `unknown option '${arg.replace(/=.*/, '')}'${hint}`;
}

/**
 * Parse the command line with node:util.parseArgs (built in: no module to
 * load at start-up) into the options below, or throw a one-line message.
 * `--cgi`/`--no-cgi`: the last one given wins.
 */
function parseCommandLine(argv: readonly string[]): { positional: string | undefined; opts: CliOptions; action?: 'help' | 'version' } {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const o of OPTIONS) config[o.long] = { type: o.value ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}), ...(o.repeat ? { multiple: true } : {}) };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: config, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? '';
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new ConfigError(unknownOption(quoted));
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      // parseArgs names the option as `-p, --port <value>` or `--port`: match its long name exactly.
      const long = /--([\w-]+)/.exec(quoted)?.[1];
      const short = /^-(\w)\b/.exec(quoted)?.[1];
      const spec = OPTIONS.find((o) => o.long === long || (long === undefined && short !== undefined && o.short === short));
      if (spec?.value && / argument missing/.test(e.message)) throw new ConfigError(`option '${flagsOf(spec)}' argument missing`);
      if (spec?.value) throw new ConfigError(`option '${flagsOf(spec)}' needs its value attached to start with a dash: --${spec.long}=VALUE`);
      if (spec) throw new ConfigError(`option '${flagsOf(spec)}' does not take a value`);
    }
    throw new ConfigError(e.message.split('\n')[0]!);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) return { positional: undefined, opts: {} as CliOptions, action: 'help' };
  if (values.version) return { positional: undefined, opts: {} as CliOptions, action: 'version' };
  if (parsed.positionals.length > 1) throw new ConfigError(`too many arguments: expected one PORT or DIR, got ${parsed.positionals.length}`);
  const converted: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const raw = values[o.long];
    if (raw === undefined || !o.value) continue;
    const check = (v: string): unknown => {
      if (o.choices && !o.choices.includes(v)) throw new ConfigError(`option '${flagsOf(o)}' argument '${v}' is invalid: choose ${o.choices.join(' or ')}`);
      try {
        return o.parse ? o.parse(v) : v;
      } catch (err) {
        if (err instanceof InvalidArgumentError) throw new ConfigError(`option '${flagsOf(o)}' argument '${v}' is invalid: ${err.message}`);
        throw err;
      }
    };
    converted[o.long] = Array.isArray(raw) ? raw.map(check) : check(raw as string);
  }
  const lastOf = (a: string, b: string): boolean | undefined => {
    const hit = parsed.tokens!.filter((t) => t.kind === 'option' && (t.name === a || t.name === b)).pop();
    return hit === undefined ? undefined : hit.kind === 'option' && hit.name === a;
  };
  // A switch not given is undefined, not false: a value from scriptserve.json then stands.
  const given = (name: string): true | undefined => (values[name] === true ? true : undefined);
  const negated = (name: string): false | undefined => (values[name] === true ? false : undefined);
  const opts: CliOptions = {
    directory: converted.directory as string | undefined,
    port: converted.port as number | undefined,
    bind: converted.bind as string | undefined,
    cache: converted.cache as number | undefined,
    dotfiles: converted.dotfiles as CliOptions['dotfiles'],
    followSymlinks: given('follow-symlinks'),
    listing: negated('no-listing'),
    fileCache: negated('no-file-cache'),
    quiet: values.quiet === true,
    logFormat: (converted['log-format'] as CliOptions['logFormat'] | undefined) ?? 'text',
    headerTimeout: converted['header-timeout'] as number | undefined,
    requestTimeout: converted['request-timeout'] as number | undefined,
    shutdownGrace: converted['shutdown-grace'] as number | undefined,
    cgi: lastOf('cgi', 'no-cgi'),
    cgiDir: converted['cgi-dir'] as string[] | undefined,
    interpreter: converted.interpreter as string[] | undefined,
    passEnv: converted['pass-env'] as string[] | undefined,
    passAuthorization: given('pass-authorization'),
    scriptTimeout: converted['script-timeout'] as number | undefined,
    maxScripts: converted['max-scripts'] as number | undefined,
    maxQueue: converted['max-queue'] as number | undefined,
    maxBody: converted['max-body'] as number | undefined,
    routes: routesOf(parsed.tokens!),
    config: converted.config as string | undefined,
    auth: converted.auth as string[] | undefined,
    authFile: converted['auth-file'] as string | undefined,
    allowedHosts: converted['allowed-hosts'] as string | undefined,
    allowOrigin: converted['allow-origin'] as string[] | undefined,
    cors: given('cors'),
    workers: converted.workers as number | undefined,
    warmPython: given('warm-python'),
    warmPreload: converted['warm-preload'] as string | undefined,
    warmInterpreter: converted['warm-interpreter'] as string | undefined,
    spawnHelper: negated('no-spawn-helper'),
  };
  return { positional: parsed.positionals[0], opts };
}

interface CliOptions {
  directory?: string;
  port?: number;
  bind?: string;
  cache?: number;
  dotfiles?: 'ignore' | 'allow';
  followSymlinks?: boolean;
  listing?: boolean;
  fileCache?: boolean;
  quiet: boolean;
  logFormat: 'text' | 'json';
  headerTimeout?: number;
  requestTimeout?: number;
  shutdownGrace?: number;
  cgi?: boolean;
  cgiDir?: string[];
  interpreter?: string[];
  passEnv?: string[];
  passAuthorization?: boolean;
  scriptTimeout?: number;
  maxScripts?: number;
  maxQueue?: number;
  maxBody?: number;
  routes?: RouteOptions[];
  config?: string;
  auth?: string[];
  authFile?: string;
  allowedHosts?: string;
  allowOrigin?: string[];
  cors?: boolean;
  workers?: number;
  warmPython?: boolean;
  warmPreload?: string;
  warmInterpreter?: string;
  spawnHelper?: boolean;
}

/** The routes, each --route-type paired with the --route given just before it; undefined when none is given. */
function routesOf(tokens: NonNullable<ReturnType<typeof parseArgs>['tokens']>): RouteOptions[] | undefined {
  let routes: RouteOptions[] | undefined;
  for (const t of tokens) {
    if (t.kind !== 'option' || t.value === undefined) continue;
    if (t.name === 'route') (routes ??= []).push(parseRouteSpec(t.value));
    else if (t.name === 'route-type') {
      if (!routes) throw new ConfigError('--route-type must follow the --route it applies to');
      routes[routes.length - 1]!.contentType = t.value;
    }
  }
  return routes;
}

function toServeOptions(positional: string | undefined, opts: CliOptions): { serve: ServeOptions; port: number; host: string } {
  let port = opts.port;
  let directory = opts.directory;
  if (positional !== undefined) {
    if (/^\d+$/.test(positional)) {
      try {
        port ??= parsePort(positional);
      } catch (err) {
        throw new ConfigError(`port '${positional}' is invalid: ${(err as Error).message}`);
      }
    }
    else directory ??= positional;
  }
  const interpreters = Object.fromEntries((opts.interpreter ?? []).map(parseInterpreterSpec));
  const serve: ServeOptions = {
    root: directory ?? process.cwd(),
    cache: opts.cache,
    dotfiles: opts.dotfiles,
    followSymlinks: opts.followSymlinks,
    listing: opts.listing,
    fileCache: opts.fileCache,
    logFormat: opts.logFormat,
    log: opts.quiet ? undefined : (line) => process.stdout.write(line + '\n'),
    cgi: opts.cgi,
    cgiDirs: opts.cgiDir,
    interpreters: opts.interpreter ? interpreters : undefined,
    passEnv: opts.passEnv,
    passAuthorization: opts.passAuthorization,
    scriptTimeout: opts.scriptTimeout,
    maxScripts: opts.maxScripts,
    maxQueue: opts.maxQueue,
    maxBody: opts.maxBody,
    routes: opts.routes,
    configFile: opts.config,
    headerTimeout: opts.headerTimeout,
    requestTimeout: opts.requestTimeout,
    auth: opts.auth,
    authFile: opts.authFile,
    allowedHosts: opts.allowedHosts === undefined ? undefined : opts.allowedHosts === 'any' ? 'any' : opts.allowedHosts.split(',').map((h) => h.trim()).filter(Boolean),
    allowOrigins: opts.allowOrigin,
    cors: opts.cors,
    warmPython: opts.warmPython,
    warmPreload: opts.warmPreload === undefined ? undefined : opts.warmPreload.split(',').map((m) => m.trim()).filter(Boolean),
    warmInterpreter: opts.warmInterpreter,
    spawnHelper: opts.spawnHelper,
  };
  return { serve, port: port ?? DEFAULT_PORT, host: opts.bind ?? DEFAULT_HOST };
}

function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function fail(message: string): never {
  process.stderr.write(`scriptserve: ${message}\n`);
  process.exit(1);
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): string {
  if (err.code === 'EADDRINUSE') return `port ${port} is already in use on ${host}`;
  if (err.code === 'EACCES') return `no permission to listen on ${host}:${port}`;
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return `cannot bind to address ${host}`;
  return `cannot listen on ${host}:${port}: ${err.message}`;
}

function main(argv: readonly string[]): void {
  let settings: ReturnType<typeof toServeOptions>;
  let config: Config;
  let opts: CliOptions;
  try {
    const line = parseCommandLine(argv);
    if (line.action === 'help') {
      process.stdout.write(helpText());
      return;
    }
    if (line.action === 'version') {
      process.stdout.write(`${VERSION}\n`);
      return;
    }
    opts = line.opts;
    settings = toServeOptions(line.positional, opts);
    config = resolveConfig(settings.serve);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const { host, port } = settings;
  const announce = (realPort: number): void => {
    process.stdout.write(`Serving ${config.root} at http://${urlHost(host)}:${realPort}/\n`);
    if (!isLoopback(host) && (config.cgiEnabled || config.routes.length > 0) && !config.access.users) {
      process.stderr.write(
        `scriptserve: warning: scripts are enabled without --auth and the server is reachable from the network on ${host}; anyone who can reach it can run them.\n`,
      );
    }
  };
  if ((opts.workers ?? 1) > 1 && !isWorker()) {
    runPrimary({ workers: opts.workers!, onListening: announce });
    return;
  }
  const server = createServer(config);
  server.once('error', (err: NodeJS.ErrnoException) => fail(listenError(err, host, port)));
  server.listen(port, host, () => {
    const address = server.address();
    // With --workers, the primary prints the banner once for all.
    if (!isWorker()) announce(typeof address === 'object' && address ? address.port : port);
  });
  handleSignals(server, (opts.shutdownGrace ?? DEFAULT_SHUTDOWN_GRACE_S) * 1000);
}

/**
 * First SIGINT/SIGTERM: graceful close, then exit 0. A second one: kill
 * scripts and exit 0 at once. A worker also takes stop levels from its
 * primary (see runPrimary) and acts on the highest level seen.
 */
function handleSignals(server: ReturnType<typeof createServer>, graceMs: number): void {
  let level = 0;
  let signals = 0;
  const stopAt = (to: number): void => {
    if (to <= level) return;
    const first = level === 0;
    level = to;
    if (level >= 2) {
      killScripts(server);
      process.exit(0);
    }
    if (first) void closeGracefully(server, graceMs).then(() => process.exit(0));
  };
  const onSignal = (): void => stopAt(++signals);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (isWorker()) onStopMessage(stopAt);
}

main(process.argv.slice(2));
