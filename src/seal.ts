/**
 * Refuse new connections on a listening TCP socket before it is closed, so
 * that closing it resets no connection a client already sent a request on.
 *
 * The kernel completes TCP handshakes on its own and queues the connections
 * until the server accepts them. Whatever is still queued when the listener
 * closes is reset, and a balancer that already wrote a request on such a
 * connection sees a reset after sending: nginx, which never resends a POST
 * (it cannot know the POST did not run), answers 502. Behind nginx, which
 * has no health checks and keeps connecting to a stopping instance until it
 * is refused, a rolling restart hit this at most restarts under load
 * (bench/NOTES.md, "Listener close").
 *
 * Sealed, the socket drops every new connection's first segment (SYN
 * without ACK) while handshakes already begun still complete and are
 * accepted. The client retransmits its SYN after about a second, finds the
 * port closed and is refused before it sent anything: a balancer tries the
 * next instance, even for a POST. The cost is that delay for the few
 * connections opened in the instant between the seal and the close.
 *
 * Node has no way to attach a socket filter, so a short Python program does
 * it on a copy of the listener's descriptor (the filter belongs to the
 * socket, which both share): classic BPF, Linux only. Without Linux or
 * python3, or for a socket another process shares (socket activation),
 * nothing is sealed and the listener is closed as before.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { findHelperPython } from './config.js';

/**
 * The least time left for handshakes begun before the seal to complete (one
 * round trip to the balancer) so that they are accepted, not reset, when the
 * listener closes. The wait goes on while the kernel still lists one of them
 * in progress (SYN_RECV): on a loaded machine even a loopback handshake can
 * take longer than this (its last segment waits in the kernel's backlog for
 * a busy CPU), and closing under it resets a connection the client already
 * sent its request on.
 */
export const SEAL_SETTLE_MS = 20;

/**
 * The longest that wait: below a dropped SYN's first retransmission (1 s),
 * so that a client turned away by the seal meets a closed port then. A
 * handshake still unfinished after it keeps the old race.
 */
const SEAL_SETTLE_MAX_MS = 500;

/** How often the wait asks the kernel again. */
const SEAL_SETTLE_POLL_MS = 5;

/** The longest the Python program may take; it normally takes its start-up, ~20 ms. */
const SEAL_TIMEOUT_MS = 5000;

/**
 * Attaches the filter to fd 3. The program, as (code, jt, jf, k):
 * load the TCP flags byte (offset 13 of the TCP header, where a socket
 * filter's packet starts); keep SYN and ACK; a SYN alone is a new
 * connection: return 0 (drop); anything else: accept whole.
 */
const PROGRAM = `
import ctypes, socket, struct
insns = [(0x30, 0, 0, 13), (0x54, 0, 0, 0x12), (0x15, 0, 1, 0x02), (0x06, 0, 0, 0), (0x06, 0, 0, 0xFFFFFFFF)]
code = ctypes.create_string_buffer(b''.join(struct.pack('HBBI', *i) for i in insns))
SO_ATTACH_FILTER = 26
s = socket.socket(fileno=3)
s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack('@HP', len(insns), ctypes.addressof(code)))
s.detach()
`;

/** The descriptor of a server's listening socket (no public API gives it; Node's TCP handle has it on Unix). */
function listenerFd(server: Server): number | null {
  const fd = (server as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * Seal the TCP socket `server` listens on (see above), then wait for the
 * handshakes begun before it ({@link SEAL_SETTLE_MS}, and on while one is
 * in progress, up to {@link SEAL_SETTLE_MAX_MS}). Resolves null when sealed
 * or when there is nothing to seal with (not Linux, no python3, no TCP
 * listener), else why it failed.
 */
export async function sealListener(server: Server): Promise<string | null> {
  const address = server.address();
  if (process.platform !== 'linux' || address === null || typeof address === 'string') return null;
  const fd = listenerFd(server);
  const python = findHelperPython();
  if (fd === null || python === null) return null;
  const failure = await new Promise<string | null>((resolve) => {
    const child = spawn(python[0]!, [...python.slice(1), '-c', PROGRAM], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
      timeout: SEAL_TIMEOUT_MS,
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-500)));
    child.once('error', (err) => resolve(err.message));
    child.once('close', (code, signal) => {
      if (code === 0) resolve(null);
      else resolve(`${python[0]} ${signal ? `killed by ${signal}` : `exit ${code}`}: ${stderr.trim().split('\n').at(-1) ?? ''}`);
    });
  });
  if (failure === null) await settle(address.port);
  return failure;
}

/** Wait {@link SEAL_SETTLE_MS}, then on while a handshake to `port` is in progress, up to {@link SEAL_SETTLE_MAX_MS}. */
async function settle(port: number): Promise<void> {
  const until = Date.now() + SEAL_SETTLE_MAX_MS;
  await sleep(SEAL_SETTLE_MS);
  while (Date.now() < until && ((await handshakesInProgress(port)) ?? 0) > 0) await sleep(SEAL_SETTLE_POLL_MS);
}

/**
 * How many TCP handshakes to local `port` the kernel has begun and not
 * completed (state 03, SYN_RECV, in /proc/net/tcp and tcp6 of this network
 * namespace); null when it cannot be read.
 */
async function handshakesInProgress(port: number): Promise<number | null> {
  const local = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let count: number | null = null;
  for (const table of ['/proc/self/net/tcp', '/proc/self/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => null);
    if (text === null) continue;
    count ??= 0;
    for (const line of text.split('\n').slice(1)) {
      const [, localAddress, , state] = line.trim().split(/\s+/);
      if (state === '03' && localAddress?.endsWith(local)) count++;
    }
  }
  return count;
}
