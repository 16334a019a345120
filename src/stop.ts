/**
 * The graceful stop of a server process (issue 20), in the order a load
 * balancer can follow without a failed request:
 *
 * 1. drain: the health check (--health) answers 503 while everything else is
 *    still served, for `drainDelayMs` (--drain-delay, set above the
 *    balancer's check interval), so the balancer takes this instance out of
 *    rotation while it still answers; keep-alive connections get
 *    `Connection: close` on their next response from now on;
 * 2. stop listening: first, when the plan says the listener is this
 *    process's own, refuse new connections while those already queued are
 *    accepted (seal.ts), so that closing it resets none; idle connections
 *    are closed (after a drain, left to the balancer or the keep-alive
 *    timeout, so none closes under a request);
 * 3. in-flight requests and scripts finish, for up to `graceMs`
 *    (--shutdown-grace), after which scripts are killed and connections cut;
 * 4. the caller exits 0 (signals.ts).
 */
import type { Server } from 'node:net';
import { setImmediate as afterPoll, setTimeout as sleep } from 'node:timers/promises';
import { sealListener } from './seal.js';
import { closeGracefully, startDraining } from './server.js';

/** How a stop goes. */
export interface StopPlan {
  /** Milliseconds the health check answers 503 before the server stops listening. Default 0. */
  readonly drainDelayMs?: number;
  /** Milliseconds in-flight requests and scripts have to finish once it stopped listening. */
  readonly graceMs: number;
  /** Further listening sockets that feed this server (socket activation's extra fds): closed with it. */
  readonly listeners?: readonly { close(): unknown }[];
  /**
   * The server's listening socket is its own TCP socket (not one a service
   * manager or another process shares): refuse new connections on it before
   * it closes, after the drain (see seal.ts). Default false.
   */
  readonly seal?: boolean;
  /** Told why the listener could not be sealed (it is then closed as without `seal`). */
  readonly onSealFailed?: (why: string) => void;
}

/** Stop a server from createServer in the order above; resolves when everything is closed. */
export async function stopGracefully(server: Server, plan: StopPlan): Promise<void> {
  startDraining(server);
  if ((plan.drainDelayMs ?? 0) > 0) await sleep(plan.drainDelayMs);
  if (plan.seal) {
    const failure = await sealListener(server);
    if (failure !== null) plan.onSealFailed?.(failure);
  }
  // Connections the kernel has completed but nobody accepted yet are reset
  // when the listener closes, and a balancer that already wrote a POST on one
  // will not resend it. The event loop's poll phase, which accepts every
  // queued connection, runs before its check phase: closing from there
  // leaves the queue empty once sealed, and as nearly empty as Node can
  // otherwise (socket activation leaves the listener to systemd, which keeps
  // the queue for the next instance).
  await afterPoll();
  for (const listener of plan.listeners ?? []) listener.close();
  // After a drain, idle connections are the balancer's to close (see closeGracefully).
  await closeGracefully(server, plan.graceMs, { letIdleExpire: (plan.drainDelayMs ?? 0) > 0 });
}
