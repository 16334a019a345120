import type { Address } from 'node:cluster';
import { isWorker, onPrimaryMessages, reportStopping, runPrimary } from './cluster.js';
import { resolveConfig, type Config } from './config.js';
import { ConfigError, helpRows, parseCommandLine, type HelpRow } from './option-spec.js';
import {
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_GRACE_S,
  OPTIONS,
  parsePort,
  serveOptionsOf,
  type OptionValues,
  type ServeOptions,
} from './options.js';
import { describeAddress, ListenError, listenOn, prepareSocketPath, socketActivationFds, unixSocketPath, type ListenTarget } from './listen.js';
import { reloadConfigOn } from './reload-config.js';
import { createServer, killScripts, pendingWork } from './server.js';
import { handleServerSignals } from './signals.js';
import { stopGracefully } from './stop.js';
import { afterBanner, STOPPING_NOW_LINE, stoppingLine } from './terminal.js';
import { VERSION } from './version.js';

/** The --help text, wrapped to 80 columns like most tools' help. */
function helpText(entries: readonly HelpRow[]): string {
  const width = 80;
  const column = Math.max(...entries.map(({ flags }) => flags.length), 'PORT|DIR'.length) + 4;
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
    ...entries.map(({ flags, help }) => row(flags, help)),
    '',
  ].join('\n');
}

/** The command line's options: the table's values, only those given. */
type CliOptions = Partial<OptionValues>;

/**
 * Read the command line into the library's options plus the command line's
 * own (port, address, workers…), or throw a one-line ConfigError.
 */
function readCommandLine(argv: readonly string[]): { action?: 'help' | 'version'; opts: CliOptions; positional: string | undefined } {
  const { values, positionals } = parseCommandLine(OPTIONS, argv, ['help', 'version']);
  const opts = values as CliOptions;
  if (opts.help) return { action: 'help', opts, positional: undefined };
  if (opts.version) return { action: 'version', opts, positional: undefined };
  if (positionals.length > 1) throw new ConfigError(`too many arguments: expected one PORT or DIR, got ${positionals.length}`);
  return { opts, positional: positionals[0] };
}

/** The library's options from the command line's: the positional PORT|DIR placed, the log sink chosen. */
function toServeOptions(positional: string | undefined, opts: CliOptions): { serve: ServeOptions; port: number; host: string } {
  let port = opts.port;
  let root = opts.root;
  if (positional !== undefined) {
    if (/^\d+$/.test(positional)) {
      try {
        port ??= parsePort(positional);
      } catch (err) {
        throw new ConfigError(`port '${positional}' is invalid: ${(err as Error).message}`);
      }
    }
    else root ??= positional;
  }
  return {
    serve: { ...serveOptionsOf(opts), root: root ?? process.cwd(), log: opts.quiet ? undefined : (line) => process.stdout.write(line + '\n') },
    port: port ?? DEFAULT_PORT,
    host: opts.bind ?? DEFAULT_HOST,
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.') || host.startsWith('/');
}

function fail(message: string): never {
  process.stderr.write(`scriptserve: ${message}\n`);
  process.exit(1);
}

function listenError(err: NodeJS.ErrnoException, target: ListenTarget): string {
  if (target.kind === 'unix') return `cannot listen on unix:${target.path}: ${err.code === 'EADDRINUSE' ? 'already in use' : err.message}`;
  if (target.kind === 'fds') return `cannot serve the socket passed on fd ${target.fds.join(', ')}: ${err.message}`;
  const { host, port } = target;
  if (err.code === 'EADDRINUSE') return `port ${port} is already in use on ${host}`;
  if (err.code === 'EACCES') return `no permission to listen on ${host}:${port}`;
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return `cannot bind to address ${host}`;
  return `cannot listen on ${host}:${port}: ${err.message}`;
}

/** The certificate's warnings (expired, not yet valid), and for a self-signed one what to trust: its fingerprint and file. */
function announceTls(config: Config): void {
  if (!config.tls) return;
  const { source, material } = config.tls;
  for (const warning of material.warnings) process.stderr.write(`scriptserve: warning: ${warning}\n`);
  if (source.kind !== 'self-signed') return;
  process.stdout.write(`Self-signed certificate for ${source.names.join(', ')}: ${material.certPath}\n`);
  process.stdout.write(`SHA-256 fingerprint: ${material.fingerprint}\n`);
}

/** Where this process listens: the service manager's sockets when it passed some, else --bind (unix:PATH or a host) and the port. */
function listenTarget(opts: CliOptions, host: string, port: number): ListenTarget {
  const fds = socketActivationFds();
  if (fds !== null) {
    if ((opts.workers ?? 1) > 1) throw new ConfigError('--workers cannot share sockets passed by socket activation (LISTEN_FDS); run one process per socket unit');
    return { kind: 'fds', fds };
  }
  const path = unixSocketPath(opts.bind);
  if (path !== null) return { kind: 'unix', path, mode: opts.socketMode };
  if (opts.socketMode !== undefined) throw new ConfigError('--socket-mode needs --bind unix:PATH');
  return { kind: 'tcp', host, port };
}

async function main(argv: readonly string[]): Promise<void> {
  let settings: ReturnType<typeof toServeOptions>;
  let config: Config;
  let opts: CliOptions;
  let target: ListenTarget;
  try {
    const line = readCommandLine(argv);
    if (line.action === 'help') {
      process.stdout.write(helpText(helpRows(OPTIONS)));
      return;
    }
    if (line.action === 'version') {
      process.stdout.write(`${VERSION}\n`);
      return;
    }
    opts = line.opts;
    settings = toServeOptions(line.positional, opts);
    target = listenTarget(opts, settings.host, settings.port);
    config = resolveConfig(settings.serve, { host: target.kind === 'tcp' ? target.host : undefined });
    if (target.kind === 'unix' && !isWorker()) await prepareSocketPath(target.path);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ListenError) fail(err.message);
    throw err;
  }
  const announce = (where: string, host: string): void => {
    const shown = config.tls ? where.replace(/^http:/, 'https:') : where;
    process.stdout.write(`Serving ${config.root} at ${shown}\n`);
    afterBanner(shown, opts.open ?? false);
    announceTls(config);
    if (target.kind === 'fds') process.stderr.write(`scriptserve: socket activation: serving the socket(s) passed on fd ${target.fds.join(', ')}, not --bind/--port\n`);
    if (!isLoopback(host) && (config.cgiEnabled || config.routes.length > 0) && !config.access.users) {
      process.stderr.write(
        `scriptserve: warning: scripts are enabled without --auth and the server is reachable from the network on ${host}; anyone who can reach it can run them.\n`,
      );
    }
    if (!isLoopback(host) && config.upload && !config.access.users) {
      process.stderr.write(
        `scriptserve: warning: uploads are enabled without --auth and the server is reachable from the network on ${host}; anyone who can reach it can write files into ${config.root}.\n`,
      );
    }
  };
  const graceS = opts.shutdownGrace ?? DEFAULT_SHUTDOWN_GRACE_S;
  const drainS = opts.drainDelay ?? 0;
  const say = (line: string): void => void process.stderr.write(line + '\n');
  if ((opts.workers ?? 1) > 1 && !isWorker()) {
    runPrimary({
      workers: opts.workers!,
      onListening: (address) => announce(describeListening(address, target), listeningHost(address, target)),
      onStop: (_level, pending) => say(pending ? stoppingLine(pending, graceS, drainS) : STOPPING_NOW_LINE),
    });
    return;
  }
  const server = createServer(config);
  const extra: { close(): unknown }[] = [];
  listenOn(server, target).then(
    (listening) => {
      extra.push(...listening.extra);
      // With --workers, the primary prints the banner once for all.
      if (!isWorker()) announce(listening.where, target.kind === 'tcp' ? target.host : listening.host);
    },
    (err: NodeJS.ErrnoException) => fail(listenError(err, target)),
  );
  const graceMs = graceS * 1000;
  const drainDelayMs = drainS * 1000;
  const actions = handleServerSignals(
    {
      graceful: () => {
        // A worker reports what it waits for to its primary, which prints one line for all.
        if (isWorker()) reportStopping(pendingWork(server));
        else say(stoppingLine(pendingWork(server), graceS, drainS));
        // Behind a balancer (a drain asked for), and only a socket this process bound: a worker's is its
        // primary's, socket activation's systemd's.
        const seal = drainDelayMs > 0 && target.kind === 'tcp' && !isWorker();
        const onSealFailed = (why: string): void => say(`scriptserve: could not refuse new connections before closing the listener (${why}); closing it anyway`);
        return stopGracefully(server, { drainDelayMs, graceMs, listeners: extra, seal, onSealFailed });
      },
      now: () => {
        if (!isWorker()) say(STOPPING_NOW_LINE);
        killScripts(server);
      },
    },
    isWorker() ? ` (worker ${process.pid})` : '',
  );
  if (isWorker()) onPrimaryMessages(actions);
  reloadConfigOn(server, config, opts.watchConfig ?? false, isWorker() ? ` (worker ${process.pid})` : '');
}

/** The banner's address when the workers listen (the primary only learns it from their 'listening'). */
function describeListening(address: Address, target: ListenTarget): string {
  if (target.kind === 'unix') return describeAddress(target.path, '');
  return describeAddress({ address: target.kind === 'tcp' ? target.host : address.address, port: address.port }, '');
}

function listeningHost(address: Address, target: ListenTarget): string {
  return target.kind === 'unix' ? target.path : target.kind === 'tcp' ? target.host : address.address;
}

void main(process.argv.slice(2));
