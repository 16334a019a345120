/**
 * Where a server process listens (issue 20): a TCP address and port, a Unix
 * socket (`--bind unix:/run/scriptserve.sock`, `--socket-mode`), or the
 * sockets a service manager passed (socket activation: LISTEN_FDS and
 * LISTEN_PID, sd_listen_fds(3)). What each gives the banner's first line.
 */
import { chmodSync, lstatSync, readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import type { Server } from 'node:net';
import { connect, createServer as createNetServer, isIP, type Server as NetServer } from 'node:net';
import { resolve } from 'node:path';
import { markUnixListener } from './forwarded.js';

/** The first file descriptor a service manager passes (SD_LISTEN_FDS_START). */
const SD_LISTEN_FDS_START = 3;

export type ListenTarget =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string; readonly mode: number | undefined }
  | { readonly kind: 'fds'; readonly fds: readonly number[] };

/** A listening problem, reported as one line (exit 1). */
export class ListenError extends Error {}

/** `--bind unix:PATH` names a Unix socket (the path made absolute); anything else is a host. */
export function unixSocketPath(bind: string | undefined): string | null {
  if (bind === undefined || !bind.startsWith('unix:')) return null;
  const path = bind.slice('unix:'.length);
  if (path === '') throw new ListenError('--bind unix: needs a path, e.g. unix:/run/scriptserve.sock');
  return resolve(path);
}

/**
 * The sockets a service manager passed this process, per sd_listen_fds(3):
 * LISTEN_PID must be this process (the variables may be inherited by a
 * child they were not meant for), LISTEN_FDS how many, from fd 3. The
 * variables are removed, so nothing started later takes them for its own.
 * Null when there are none.
 */
export function socketActivationFds(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number[] | null {
  if (env.LISTEN_PID === undefined || env.LISTEN_FDS === undefined) return null;
  if (!/^\d+$/.test(env.LISTEN_PID) || Number(env.LISTEN_PID) !== pid) return null;
  const count = /^\d+$/.test(env.LISTEN_FDS) ? Number(env.LISTEN_FDS) : 0;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (count < 1) return null;
  return Array.from({ length: count }, (_, i) => SD_LISTEN_FDS_START + i);
}

/**
 * Make a Unix socket path ready to listen on: a socket file nobody accepts
 * on (left by a server that was killed) is removed; one that answers is in
 * use, and any other kind of file is not ours to delete.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ListenError(`cannot use unix:${path}: ${(err as Error).message}`);
  }
  if (!isSocket) throw new ListenError(`unix:${path} exists and is not a socket`);
  const inUse = await new Promise<boolean>((done) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      done(true);
    });
    probe.once('error', () => done(false));
  });
  if (inUse) throw new ListenError(`unix:${path} is already in use by another server`);
  try {
    unlinkSync(path);
  } catch (err) {
    throw new ListenError(`cannot remove the stale unix:${path}: ${(err as Error).message}`);
  }
}

/** The banner's address for what a server listens on: `http://HOST:PORT/` or `unix:PATH`. */
export function describeAddress(address: string | { address: string; port: number } | null, fallbackHost: string): string {
  if (typeof address === 'string') return `unix:${address}`;
  const host = address?.address ?? fallbackHost;
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${address?.port ?? 0}/`;
}

/** What listening gave: the banner's address, the extra listeners (closed when the server stops). */
export interface Listening {
  readonly where: string;
  /** The bare address (host or socket path) the first listener has, for the exposure warning. */
  readonly host: string;
  readonly extra: NetServer[];
}

/**
 * Listen on the target. A Unix socket is created under a umask that lets
 * nobody else in, then given `mode`. Of several activated sockets the first
 * is the server's own; each further one hands its connections to the same
 * server. Rejects with the listen error (the caller words it).
 */
export function listenOn(server: Server, target: ListenTarget): Promise<Listening> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    const extra: NetServer[] = [];
    const ready = (): void => {
      server.off('error', fail);
      if (target.kind === 'unix' && target.mode !== undefined) chmodSync(target.path, target.mode);
      const address = target.kind === 'fds' ? activatedAddress(server, target.fds[0]!) : server.address();
      done({
        where: target.kind === 'tcp' && typeof address === 'object' && address ? describeAddress({ address: target.host, port: address.port }, target.host) : describeAddress(address, ''),
        host: typeof address === 'string' ? address : (address?.address ?? ''),
        extra,
      });
    };
    if (target.kind === 'tcp') server.listen(target.port, target.host, ready);
    else if (target.kind === 'unix') listenUnix(server, target.path, target.mode !== undefined, ready);
    else {
      for (const fd of target.fds.slice(1)) {
        const more = createNetServer((socket) => server.emit('connection', socket));
        more.on('error', (err) => server.emit('error', err));
        more.listen({ fd }, () => activatedAddress(more, fd));
        extra.push(more);
      }
      server.listen({ fd: target.fds[0]! }, ready);
    }
  });
}

/**
 * The address of a socket passed as a file descriptor. Node knows a TCP
 * one's; of a Unix one it knows nothing (no getsockname for pipes), so the
 * server is marked as a Unix listener (forwarded.ts: its peers are local) and
 * the path is looked up in /proc/net/unix by the socket's inode, where Linux
 * has it; null when unknown.
 */
function activatedAddress(server: NetServer, fd: number): string | { address: string; port: number } | null {
  const address = server.address();
  if (typeof address === 'string') {
    markUnixListener(server);
    return address;
  }
  if (address && typeof address.port === 'number') return address;
  markUnixListener(server);
  return unixSocketPathOfFd(fd) ?? `(socket on fd ${fd})`;
}

/** The path of a Unix socket held on `fd`, from /proc (Linux); null when unknown or unnamed. */
function unixSocketPathOfFd(fd: number): string | null {
  try {
    const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
    if (inode === undefined) return null;
    for (const line of readFileSync('/proc/net/unix', 'latin1').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[6] === inode && fields[7]?.startsWith('/')) return fields[7];
    }
  } catch {
    /* not Linux, or /proc not mounted */
  }
  return null;
}

/** The socket file is created inside listen(); a restrictive umask keeps it private until chmod gives the mode. */
function listenUnix(server: Server, path: string, private_: boolean, ready: () => void): void {
  const umask = private_ ? process.umask(0o177) : undefined;
  try {
    server.listen(path, ready);
  } finally {
    if (umask !== undefined) process.umask(umask);
  }
}
