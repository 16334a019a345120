import type { Socket } from 'node:net';
import { firstLine, NotSent, oneOutcome, watchSockets, type Pending } from './handshake.js';

/**
 * A spawned child: its pid comes on the control pipe (`spawned`), or why none
 * started (`failed`, NotSent). The spawn helper writes `spawning` on `in`
 * before it spawns, so `in` closing before that line proves nothing started
 * (NotSent) even when the helper died; its death after that line leaves a
 * child that may exist with no pid known, an error (500).
 */
export function awaitSpawnedPid(input: Socket, sockets: readonly Socket[], pending: Pending): Promise<number> {
  return new Promise((resolvePid, rejectPid) => {
    let announced = false;
    let helperGone: Error | null = null;
    const { fail, succeed } = oneOutcome(sockets, resolvePid, rejectPid);
    pending.started = (result) => {
      if (typeof result === 'number') succeed(result);
      else if (result instanceof NotSent || announced) fail(result);
      else helperGone = result; // decided by `in`: its close (nothing started) or the `spawning` line
    };
    watchSockets(sockets, fail);
    firstLine(
      input,
      (line) => {
        if (line !== 'spawning') fail(new Error(`the spawn helper sent a malformed reply: ${line.slice(0, 80)}`));
        else if (helperGone) fail(helperGone);
        else announced = true;
      },
      fail,
    );
    input.once('close', () => {
      if (!announced) fail(new NotSent('the spawn helper closed the connection'));
    });
  });
}
