import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';

/** How long the rest of a refused request body is read and dropped, after the answer, before the connection is cut. */
export const LINGER_MS = 2000;

/**
 * An answer that closes its connection (`Connection: close`) while the
 * request body is still arriving (a 413, an upload refused part-way): the
 * rest of the body is read and dropped, and the connection closes once the
 * client has stopped sending, or LINGER_MS after the answer went out.
 *
 * Closing with unread bytes makes the kernel reset the connection, and a
 * client still sending its body then fails on its next write before it reads
 * the answer (curl: "Send failure: Broken pipe"; browsers show a reset page
 * instead of the 413). node:http closes such a connection with
 * `socket.destroySoon()` as soon as the answer is written, so this socket's
 * own destroySoon ends its writing side instead and destroys it later (nginx's
 * lingering close does the same). HTTP/1 only: over HTTP/2 the stream ends
 * with its answer and the connection carries others.
 */
export function lingerBeforeClose(res: ServerResponse): void {
  const req = res.req;
  const socket = res.socket as (Socket & { destroySoon?: () => void }) | null;
  if (!req || req.complete || req.httpVersionMajor !== 1 || !socket) return;
  req.resume();
  socket.destroySoon = function lingeringClose(this: Socket): void {
    this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS).unref();
    this.once('close', () => clearTimeout(timer));
  };
}
