import type { Socket } from 'node:net';

// What both handshakes with a helper process share (fork-handshake.ts for the
// warm fork server, spawn-handshake.ts for the spawn helper): how a request
// that started nothing is told apart from one that may have, the deadline,
// and the reading of the first reply line on `in`.

/** Deadline for the helper to report the child's pid once a request is sent. */
export const START_REPLY_TIMEOUT_MS = 5000;

/** A request the helper never acted on: no script started, so running it with child_process.spawn is safe. */
export class NotSent extends Error {}

/** A request the helper has, waiting for its child's pid and the `exit` line written after reaping it. */
export interface Pending {
  /** The child's pid, once it is known. */
  pid?: number;
  /** Its helper died before the pid was known: nobody will report this exit. */
  orphaned?: boolean;
  /** Spawn requests: the control pipe's `spawned` (a pid) or `failed` (a NotSent) line, or the helper's death. */
  started?: (result: number | Error) => void;
  readonly settle: (status: readonly [number | null, string | null]) => void;
}

/**
 * How a request learns its child's pid: resolves it, or rejects with NotSent
 * when provably nothing started, with another error when that cannot be known.
 * `output` is the `out` connection (the reply is its first line), `sockets`
 * every connection of the request (`out`, and `in` when the body streams).
 */
export type Handshake = (output: Socket, sockets: readonly Socket[], pending: Pending) => Promise<number>;

/**
 * The end of either wait for a pid: the first outcome wins, START_REPLY_TIMEOUT_MS
 * is the deadline, and a failure closes the request's connections.
 */
export function oneOutcome(
  sockets: readonly Socket[],
  resolvePid: (pid: number) => void,
  rejectPid: (err: Error) => void,
): { fail: (err: Error) => void; succeed: (pid: number) => void } {
  let settled = false;
  const timer = setTimeout(() => fail(new Error('the helper did not answer')), START_REPLY_TIMEOUT_MS);
  const fail = (err: Error): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    for (const s of sockets) s.destroy();
    rejectPid(err);
  };
  const succeed = (pid: number): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    resolvePid(pid);
  };
  return { fail, succeed };
}

/** A connection that never connected means the request was never complete (NotSent). */
export function watchSockets(sockets: readonly Socket[], fail: (err: Error) => void): void {
  for (const s of sockets) {
    let connected = false;
    s.once('connect', () => (connected = true));
    s.on('error', (err) => {
      if (!connected) fail(new NotSent(`cannot connect to the helper: ${err.message}`));
    });
  }
}

/**
 * Read the first line on `out`, the reply; what follows it is the script's
 * output, left on the paused stream for its reader.
 */
export function firstLine(output: Socket, onLine: (line: string) => void, fail: (err: Error) => void): void {
  let seen: Buffer | null = null;
  const onData = (chunk: Buffer): void => {
    const data: Buffer = seen === null ? chunk : Buffer.concat([seen, chunk]);
    const nl = data.indexOf(10);
    if (nl < 0) {
      if (data.length > 4096) fail(new Error('the helper sent a malformed reply'));
      seen = data;
      return;
    }
    output.off('data', onData);
    output.pause();
    if (nl + 1 < data.length) output.unshift(data.subarray(nl + 1));
    onLine(data.toString('latin1', 0, nl));
  };
  output.on('data', onData);
}
