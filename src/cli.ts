#!/usr/bin/env node
import { isIP } from 'node:net';
import { isWorker, onPrimaryMessages, runPrimary } from './cluster.js';
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
import { closeGracefully, createServer, killScripts } from './server.js';
import { handleServerSignals } from './signals.js';
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
    if (!isLoopback(host) && config.upload && !config.access.users) {
      process.stderr.write(
        `scriptserve: warning: uploads are enabled without --auth and the server is reachable from the network on ${host}; anyone who can reach it can write files into ${config.root}.\n`,
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
  const graceMs = (opts.shutdownGrace ?? DEFAULT_SHUTDOWN_GRACE_S) * 1000;
  const actions = handleServerSignals(
    { graceful: () => closeGracefully(server, graceMs), now: () => killScripts(server) },
    isWorker() ? ` (worker ${process.pid})` : '',
  );
  if (isWorker()) onPrimaryMessages(actions);
}

main(process.argv.slice(2));
