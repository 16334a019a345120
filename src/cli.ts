#!/usr/bin/env node
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { isWorker, runPrimary } from './cluster.js';
import { Command, InvalidArgumentError, Option } from 'commander';
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

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function buildProgram(): Command {
  return new Command()
    .name('scriptserve')
    .usage('[PORT|DIR] [options]')
    .description('Serve a folder over HTTP and answer requests with the output of scripts (CGI/1.1 and command routes).')
    .argument('[PORT|DIR]', 'a number is the port (as python -m http.server), anything else the directory (as http-server)')
    .option('-d, --directory <dir>', 'directory to serve (default: the current directory)')
    .option('-p, --port <port>', `port to listen on; 0 picks a free one (default: ${DEFAULT_PORT})`, parsePort)
    .option('-b, --bind <address>', `address to bind; 0.0.0.0 or :: exposes the server to the network (default: ${DEFAULT_HOST})`)
    .option('--cache <seconds>', 'send Cache-Control: max-age=SECONDS for files (default: no-cache, always revalidate)', parseNonNegative)
    .addOption(new Option('--dotfiles <mode>', 'hide dotfiles and dot-directories (404), or serve them').choices(['ignore', 'allow']).default('ignore'))
    .option('--follow-symlinks', 'follow symlinks that point outside the root (unsafe: exposes their targets)', false)
    .option('--no-listing', 'answer 403 instead of listing directories without index.html')
    .option('--no-file-cache', 'do not keep files and listings in memory (for filesystems whose changes raise no inotify events)')
    .option('-q, --quiet', 'do not print access-log lines', false)
    .addOption(new Option('--log-format <format>', 'access log format').choices(['text', 'json']).default('text'))
    .option('--header-timeout <seconds>', `time a client has to send the request headers (default: ${DEFAULT_HEADER_TIMEOUT_S})`, parseSeconds)
    .option('--request-timeout <seconds>', `time a client has to send the whole request (default: ${DEFAULT_REQUEST_TIMEOUT_S})`, parseSeconds)
    .option('--shutdown-grace <seconds>', `on SIGINT/SIGTERM, time to let requests and scripts finish (default: ${DEFAULT_SHUTDOWN_GRACE_S})`, parseSeconds)
    .option('--cgi', 'run scripts in the script directories (the default; accepted for python compatibility)')
    .option('--no-cgi', 'never run scripts; script directories are served as plain folders')
    .option('--cgi-dir <path>', 'URL path of a script directory, repeatable; replaces the defaults (default: /cgi-bin/ and /htbin/)', collect)
    .option('--interpreter <.ext=command>', 'run files with this extension through COMMAND, executable or not, repeatable, e.g. .py=python3 (default: none; on Windows .py .js .mjs .cjs .pl .rb .php)', collect)
    .option('--pass-env <name>', "pass this variable of the server's environment to scripts, repeatable (default: only PATH, LANG, LC_*, TZ)", collect)
    .option('--pass-authorization', 'pass the Authorization header to scripts as HTTP_AUTHORIZATION', false)
    .option('--script-timeout <seconds>', `kill a script's process group after this long (default: ${DEFAULT_SCRIPT_TIMEOUT_S})`, parseSeconds)
    .option('--max-scripts <n>', 'scripts running at once; more wait briefly, then get 503 (default: 4 × cores)', parseCount)
    .option('--max-queue <n>', 'requests that may wait for a script slot (up to 10 s); more get 503 at once (default: max(64, 16 × max-scripts))', parseNonNegative)
    .option('--max-body <bytes>', 'largest request body a script accepts, e.g. 100M (default: 100M)', parseBytes)
    .option('--warm-python', 'run Python scripts in children forked from a pre-started interpreter (same semantics, much faster start; see README) (default: off)')
    .option('--warm-preload <modules>', `comma-separated modules the warm interpreter imports once (default: ${DEFAULT_WARM_PRELOAD.join(',')})`)
    .option('--warm-interpreter <command>', 'interpreter of the warm fork server; only scripts a cold run starts with it run warm (default: the .py --interpreter, else python3 from PATH)')
    .option('--route <spec>', "command route 'METHOD /path=COMMAND' (METHOD may be ANY; /path/* matches a prefix), repeatable (default: none)", collect)
    .option('--route-type <type>', 'Content-Type of the --route given just before it (default: text/plain; charset=utf-8)', collect)
    .option('--auth <user:password>', 'require HTTP Basic authentication with this user, repeatable (default: none, no authentication)', collect)
    .option('--auth-file <file>', 'require HTTP Basic authentication against an htpasswd file (bcrypt: htpasswd -B, or SHA-256/512 crypt) (default: none)')
    .option('--allowed-hosts <names>', 'comma-separated Host names accepted, or "any" (default: localhost names and the bound address, on loopback)')
    .option('--allow-origin <origin>', 'let this origin (https://app.example) make cross-origin POSTs and other unsafe requests, repeatable (default: none)', collect)
    .option('--cors', 'allow cross-origin requests from any origin and send Access-Control-Allow-Origin: *', false)
    .option('--workers <n>', 'serve from N processes sharing the port (node:cluster); "auto" is one per core; limits such as --max-scripts apply per worker (default: 1)', parseWorkers)
    .option('--config <file>', 'JSON config file with routes and options (default: scriptserve.json in the root, if present)')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .showSuggestionAfterError(true)
    .exitOverride()
    // One line per error, never a stack trace: fold commander's "Did you mean" line into it.
    .configureOutput({ outputError: (str, write) => write(`scriptserve: ${str.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`) });
}

interface CliOptions {
  directory?: string;
  port?: number;
  bind?: string;
  cache?: number;
  dotfiles: 'ignore' | 'allow';
  followSymlinks: boolean;
  listing: boolean;
  fileCache: boolean;
  quiet: boolean;
  logFormat: 'text' | 'json';
  headerTimeout?: number;
  requestTimeout?: number;
  shutdownGrace?: number;
  cgi?: boolean;
  cgiDir?: string[];
  interpreter?: string[];
  passEnv?: string[];
  passAuthorization: boolean;
  scriptTimeout?: number;
  maxScripts?: number;
  maxQueue?: number;
  maxBody?: number;
  route?: string[];
  routeType?: string[];
  config?: string;
  auth?: string[];
  authFile?: string;
  allowedHosts?: string;
  allowOrigin?: string[];
  cors: boolean;
  workers?: number;
  warmPython?: boolean;
  warmPreload?: string;
  warmInterpreter?: string;
}

/** Pair each --route-type with the --route given just before it, by position on the command line. */
function routesFromArgv(argv: readonly string[]): RouteOptions[] {
  const routes: RouteOptions[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') && arg.startsWith('--route') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag !== '--route' && flag !== '--route-type') continue;
    const value = inline ?? argv[++i];
    if (value === undefined) continue;
    if (flag === '--route') routes.push(parseRouteSpec(value));
    else if (routes.length === 0) throw new ConfigError('--route-type must follow the --route it applies to');
    else routes[routes.length - 1]!.contentType = value;
  }
  return routes;
}

function toServeOptions(positional: string | undefined, opts: CliOptions, argv: readonly string[]): { serve: ServeOptions; port: number; host: string } {
  let port = opts.port;
  let directory = opts.directory;
  if (positional !== undefined) {
    if (/^\d+$/.test(positional)) port ??= parsePort(positional);
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
    routes: opts.route || opts.routeType ? routesFromArgv(argv) : undefined,
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
  const program = buildProgram();
  try {
    program.parse(argv as string[], { from: 'user' });
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    process.exit(code === undefined ? 1 : code);
  }
  const opts = program.opts<CliOptions>();
  let settings: ReturnType<typeof toServeOptions>;
  let config: Config;
  try {
    settings = toServeOptions(program.args[0], opts, argv);
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

/** First SIGINT/SIGTERM: graceful close, then exit 0. A second one: kill scripts and exit 0 at once. */
function handleSignals(server: ReturnType<typeof createServer>, graceMs: number): void {
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) {
      killScripts(server);
      process.exit(0);
    }
    stopping = true;
    void closeGracefully(server, graceMs).then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main(process.argv.slice(2));
