/**
 * What the command line tells the person at the terminal besides the banner:
 * where a server bound to every address can be reached, what a stop waits
 * for, and opening the browser (`--open`). Pure functions apart from
 * {@link openBrowser}.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { delimiter, join } from 'node:path';

/** Is this the address of every interface (`0.0.0.0`, `::` or a spelling of them)? */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0' || host === '[::]';
}

/**
 * The URLs a server bound to `host` can be reached at, one per interface
 * address, as http-server lists them: `0.0.0.0` is every IPv4 address; `::`
 * is every IPv6 one and, on a dual-stack socket (Node's default), every IPv4
 * one too. Link-local IPv6 addresses (fe80::/10) are left out: they need a
 * zone (`%eth0`) that browsers do not accept in URLs. Loopback first, then the
 * rest in the order the system lists them. Empty for any other host.
 */
export function reachableUrls(
  host: string,
  port: number,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
  scheme: 'http' | 'https' = 'http',
): string[] {
  if (!isWildcard(host)) return [];
  const v6 = host !== '0.0.0.0';
  const addresses: NetworkInterfaceInfo[] = [];
  for (const list of Object.values(interfaces)) {
    for (const info of list ?? []) {
      if (info.family === 'IPv4' || (v6 && info.family === 'IPv6' && !isLinkLocal(info.address))) addresses.push(info);
    }
  }
  addresses.sort((a, b) => Number(b.internal) - Number(a.internal));
  const urls = addresses.map((a) => `${scheme}://${isIP(a.address) === 6 ? `[${a.address}]` : a.address}:${port}/`);
  return [...new Set(urls)];
}

function isLinkLocal(address: string): boolean {
  return /^fe[89ab]/i.test(address);
}

/** `1 request`, `2 scripts`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** The line printed when a graceful stop begins; `drainS` is --drain-delay (the health check answers 503 that long first). */
export function stoppingLine(pending: { requests: number; scripts: number }, graceS: number, drainS = 0): string {
  const what = `${count(pending.requests, 'request')} and ${count(pending.scripts, 'script')}`;
  const drain = drainS > 0 ? `draining for ${drainS} s, then ` : '';
  return `scriptserve: stopping: ${drain}waiting up to ${graceS} s for ${what}; a second signal (Ctrl-C) stops now`;
}

/** The line printed when a second signal stops the server at once. */
export const STOPPING_NOW_LINE = 'scriptserve: stopping now: running scripts are killed, open connections cut';

/** The program that opens a URL in the default browser here: `open` (macOS), `start` (Windows, through cmd), `xdg-open` (elsewhere). */
export function browserOpener(platform: NodeJS.Platform = process.platform): { command: string; args: (url: string) => string[] } {
  if (platform === 'darwin') return { command: 'open', args: (url) => [url] };
  // `start` is a cmd built-in; its first quoted argument is a window title.
  if (platform === 'win32') return { command: 'cmd', args: (url) => ['/d', '/s', '/c', 'start', '""', url.replace(/&/g, '^&')] };
  return { command: 'xdg-open', args: (url) => [url] };
}

/** The first executable named `name` in PATH, or null. */
function findInPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

/**
 * Open `url` in the default browser (`--open`), without waiting for it and
 * without a shell; `note` is told, in one line, when no opener exists or it
 * fails. The opener is detached and ignored: the server never waits for the
 * browser, and a browser that stays open does not hold the server.
 */
export function openBrowser(url: string, note: (line: string) => void, platform: NodeJS.Platform = process.platform): void {
  const { command, args } = browserOpener(platform);
  const program = platform === 'win32' ? command : findInPath(command);
  if (program === null) {
    note(`scriptserve: --open: no ${command} found to open a browser; open ${url} yourself`);
    return;
  }
  try {
    // cmd parses its own command line: pass `start "" URL` as written (the URL is ours: scheme, host, port, slash).
    const child = spawn(program, args(url), { stdio: 'ignore', detached: true, windowsHide: true, windowsVerbatimArguments: platform === 'win32' });
    child.on('error', (err) => note(`scriptserve: --open: ${command} failed (${err.message}); open ${url} yourself`));
    child.unref();
  } catch (err) {
    note(`scriptserve: --open: ${command} failed (${(err as Error).message}); open ${url} yourself`);
  }
}

/** The URL `--open` opens: the served one, with `localhost` for a wildcard address, which is no place to browse to. */
export function urlToOpen(host: string, port: number, scheme: 'http' | 'https' = 'http'): string {
  if (isWildcard(host)) return `${scheme}://localhost:${port}/`;
  return `${scheme}://${isIP(host) === 6 ? `[${host}]` : host}:${port}/`;
}

/**
 * What the command line prints after the banner line (`where`: its
 * `http://HOST:PORT/` or `unix:PATH`): the reachable addresses when HOST is a
 * wildcard, then, with `--open`, the browser is opened (a note on stderr when
 * it cannot be: no opener, or a Unix socket, which no browser opens).
 */
export function afterBanner(where: string, open: boolean): void {
  const m = /^(https?):\/\/(?:\[([^\]]+)\]|([^/:]+)):(\d+)\/$/.exec(where);
  const note = (line: string): void => void process.stderr.write(line + '\n');
  if (!m) {
    if (open) note(`scriptserve: --open: the server listens on ${where}, which a browser cannot open`);
    return;
  }
  const scheme = m[1] as 'http' | 'https';
  const host = m[2] ?? m[3]!;
  const port = Number(m[4]);
  const reachable = reachableUrls(host, port, undefined, scheme);
  if (reachable.length > 0) process.stdout.write(`Reachable at:\n${reachable.map((url) => `  ${url}\n`).join('')}`);
  if (open) openBrowser(urlToOpen(host, port, scheme), note);
}
