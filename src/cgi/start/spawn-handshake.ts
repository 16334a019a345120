import type { Socket } from 'node:net';
import { firstLine, NotSent, oneOutcome, watchSockets, type Pending } from './handshake.js';

/**
 * A spawned child: its pid comes on the control pipe (`spawned`), or why none
 * started (`failed`, NotSent). The spawn helper writes `spawning` on `out`
 * before it spawns, so `out` closing before that line proves nothing started
 * (NotSent) even when the helper died; its death after that line leaves a
 * child that may exist with no pid known, an error (500).
 */
export function awaitSpawnedPid(output: Socket, sockets: readonly Socket[], pending: Pending): Promise<number> {
  return new Promise((resolvePid, rejectPid) => {
    let announced = false;
    let helperGone: Error | null = null;
    let pid: number | null = null;
    const { fail, succeed } = oneOutcome(sockets, resolvePid, rejectPid);
    // Both are needed, in either order: the pid, and `spawning` read off `out` (whatever follows it is the script's).
    pending.started = (result) => {
      if (typeof result === 'number') {
        pid = result;
        if (announced) succeed(pid);
      } else if (result instanceof NotSent || announced) fail(result);
      else helperGone = result; // decided by `out`: its close (nothing started) or the `spawning` line
    };
    watchSockets(sockets, fail);
    firstLine(
      output,
      (line) => {
        if (line !== 'spawning') return fail(new Error(`the spawn helper sent a malformed reply: ${line.slice(0, 80)}`));
        if (helperGone) return fail(helperGone);
        announced = true;
        if (pid !== null) succeed(pid);
      },
      fail,
    );
    output.once('close', () => {
      if (!announced) fail(new NotSent('the spawn helper closed the connection'));
    });
  });
}
