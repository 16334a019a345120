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
 * own destroySoon ends its writing side instead, drops whatever arrives from
 * then on unparsed (a request pipelined after the body must not run: RFC 9112
 * 9.6, the server "MUST NOT process any further requests"), and destroys it
 * later (nginx's lingering close does the same).
 *
 * HTTP/2: the connection carries other streams and stays; the request is
 * read and dropped to its end, so that its stream closes (unread, it would
 * stay open with the client blocked on flow control).
 */
export function lingerBeforeClose(res: ServerResponse): void {
  const req = res.req;
  if (!req || req.complete) return;
  if (req.httpVersionMajor === 2) {
    req.resume();
    return;
  }
  const socket = res.socket as (Socket & { destroySoon?: () => void }) | null;
  if (req.httpVersionMajor !== 1 || !socket) return;
  socket.destroySoon = function lingeringClose(this: Socket): void {
    this.end();
    discardInput(this);
    const timer = setTimeout(() => this.destroy(), LINGER_MS).unref();
    this.once('close', () => clearTimeout(timer));
  };
}

/**
 * Read and drop what arrives on `socket`, without the HTTP parser seeing it.
 * node:http feeds its parser from its own 'data' listener, or straight from
 * the socket's handle; adding a 'data' listener makes node:http's listener
 * wrapper take the parser off the handle, so every byte then comes here.
 */
function discardInput(socket: Socket): void {
  socket.removeAllListeners('data');
  socket.on('data', () => {});
  socket.resume();
}
