import type { Socket } from 'node:net';
import { firstLine, NotSent, oneOutcome, watchSockets } from './handshake.js';

/**
 * A forked (warm) child: wait for `pid N` on `out`. The child writes that
 * line before anything else and holds `out` as its stdout, so `out` closing
 * without it proves no child runs the script (NotSent), and so does a
 * connection that failed to connect at all: the fork server forks only once
 * all of a request's connections have arrived. A fork server that does not answer within START_REPLY_TIMEOUT_MS
 * may still fork later, so that is an error (500), never a cold retry that
 * could run the script twice.
 */
export function awaitForkedPid(output: Socket, sockets: readonly Socket[]): Promise<number> {
  return new Promise((resolvePid, rejectPid) => {
    const { fail, succeed } = oneOutcome(sockets, resolvePid, rejectPid);
    watchSockets(sockets, fail);
    firstLine(
      output,
      (line) => {
        if (line.startsWith('pid ') && /^\d+$/.test(line.slice(4))) succeed(Number(line.slice(4)));
        else if (line.startsWith('error ')) {
          // The fork failed: nothing ran, so the caller may run the script cold.
          fail(new NotSent(line.slice(6)));
        } else fail(new Error(`the fork server sent a malformed reply: ${line.slice(0, 80)}`));
      },
      fail,
    );
    output.once('close', () => fail(new NotSent('the fork server closed the connection')));
  });
}
