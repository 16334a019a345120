/**
 * The limits every HTTP/2 session gets, and the defences against the known
 * HTTP/2 attacks, each answered by closing the offending connection alone
 * (GOAWAY ENHANCE_YOUR_CALM) so that other clients never notice:
 *
 * - concurrent streams: at most MAX_CONCURRENT_STREAMS per connection
 *   (SETTINGS_MAX_CONCURRENT_STREAMS; nghttp2 refuses the excess);
 * - header list size: MAX_HEADER_LIST_BYTES, MAX_HEADER_PAIRS fields
 *   (nghttp2 refuses a larger block);
 * - rapid reset (CVE-2023-44487): a client that resets more than
 *   MAX_RESETS_PER_WINDOW streams in FLOOD_WINDOW_MS is closed, and so is
 *   one whose reset streams pile up (twice the stream limit alive at once:
 *   a reset with NO_ERROR leaves node:http2 holding the stream); nghttp2's
 *   own rate limit stays on behind these;
 * - SETTINGS and PING floods (CVE-2019-9512, -9515): more than
 *   MAX_CONTROL_PER_WINDOW of either in FLOOD_WINDOW_MS closes the
 *   connection (nghttp2 also caps the acknowledgements it queues);
 * - zero-window stalls (CVE-2019-9517): a stream that has response bytes to
 *   send, or is still waiting for its request body, and makes no progress
 *   for the request timeout is reset; its file or script is released with it;
 * - idle connections: a session with no open stream for the header timeout
 *   is closed (GOAWAY), as HTTP/1.1's keep-alive connections are;
 * - memory: MAX_SESSION_MEMORY_MB per session (nghttp2 refuses new streams
 *   past it).
 */
import type { Http2SecureServer, Http2Server, SecureServerOptions, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import { lazy } from '../lazy.js';

/** node:http2's constants, loaded with the first HTTP/2 server (lazy.ts). */
const http2 = lazy<typeof import('node:http2')>('node:http2');
import type { Config } from '../config.js';
import { formatMessage } from '../log.js';

export const MAX_CONCURRENT_STREAMS = 100;
export const MAX_HEADER_LIST_BYTES = 32 * 1024;
export const MAX_HEADER_PAIRS = 128;
export const MAX_SESSION_MEMORY_MB = 10;
export const FLOOD_WINDOW_MS = 10_000;
export const MAX_RESETS_PER_WINDOW = 200;
export const MAX_CONTROL_PER_WINDOW = 200;

/** node:http2 options of every server: the SETTINGS announced and the session's own caps. */
export const HTTP2_OPTIONS: SecureServerOptions = {
  settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: MAX_HEADER_LIST_BYTES, enablePush: false },
  maxHeaderListPairs: MAX_HEADER_PAIRS,
  maxSessionMemory: MAX_SESSION_MEMORY_MB,
  maxOutstandingPings: 10,
  maxSettings: 32,
};

/** The sessions of a server, for shutdown. */
export interface Sessions {
  /** GOAWAY to each session: it finishes its open streams, then closes. */
  closeIdle(): void;
  /** Destroy every session now. */
  closeAll(): void;
}

/** Apply the limits above to each session of the server. */
export function guardSessions(server: Http2SecureServer | Http2Server, config: Config): Sessions {
  const sessions = new Set<ServerHttp2Session>();
  // A session's error (a protocol violation, a reset socket) ends that session only.
  server.on('sessionError', () => {});
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    guardSession(session, config);
  });
  return {
    closeIdle: () => {
      for (const session of sessions) if (!session.closed) session.close();
    },
    closeAll: () => {
      for (const session of sessions) session.destroy();
    },
  };
}

/** Streams reset here for stalling (not counted as the client's resets). */
const stalled = new WeakSet<ServerHttp2Stream>();

/** Counts events in fixed windows; true once more than `max` fell in the current one. */
function counter(max: number): () => boolean {
  let start = 0;
  let count = 0;
  return () => {
    const now = Date.now();
    if (now - start > FLOOD_WINDOW_MS) {
      start = now;
      count = 0;
    }
    return ++count > max;
  };
}

function guardSession(session: ServerHttp2Session, config: Config): void {
  session.on('error', () => {});
  let calmed = false;
  const calm = (why: string): void => {
    if (calmed || session.destroyed) return;
    calmed = true;
    config.log?.(formatMessage('http2', `${session.socket?.remoteAddress ?? '-'}: ${why}; connection closed`, config.logFormat));
    // GOAWAY first (destroy's own GOAWAY says NO_ERROR), then close once it is written.
    session.goaway(http2().constants.NGHTTP2_ENHANCE_YOUR_CALM);
    setImmediate(() => session.destroy());
  };
  const ping = counter(MAX_CONTROL_PER_WINDOW);
  const settings = counter(MAX_CONTROL_PER_WINDOW);
  const reset = counter(MAX_RESETS_PER_WINDOW);
  session.on('ping', () => ping() && calm('PING flood'));
  session.on('remoteSettings', () => settings() && calm('SETTINGS flood'));
  let open = 0;
  session.on('stream', (stream: ServerHttp2Stream) => {
    // nghttp2 lets at most MAX_CONCURRENT_STREAMS be open; more alive here means streams the
    // client reset while node:http2 still holds them (a reset with NO_ERROR leaves them alive).
    if (++open > 2 * MAX_CONCURRENT_STREAMS) calm('streams reset faster than they close (rapid reset)');
    stream.once('close', () => {
      open--;
      // A stream that closed with an error code, or before its response was delivered, was reset
      // (whatever code the client's RST_STREAM carried), unless guardStream reset it for stalling.
      const cut = (stream.rstCode !== undefined && stream.rstCode !== http2().constants.NGHTTP2_NO_ERROR) || !stream.writableFinished;
      if (cut && !stalled.has(stream) && reset()) {
        calm('too many streams reset by the client (rapid reset)');
      }
    });
    guardStream(stream, config.requestTimeoutMs);
  });
  // node:http2 runs a timeout callback once: re-arming passes it again.
  const idleMs = Math.min(config.headerTimeoutMs, config.requestTimeoutMs);
  const onIdle = (): void => {
    if (open === 0) session.close();
    else session.setTimeout(idleMs, onIdle);
  };
  session.setTimeout(idleMs, onIdle);
}

/**
 * Reset a stream that waits on its client for `timeoutMs` without progress:
 * response bytes it cannot send (the client's window stays shut), or a
 * request body that does not come. A stream waiting on its script is left
 * to the script timeout.
 */
function guardStream(stream: ServerHttp2Stream, timeoutMs: number): void {
  stream.on('error', () => {});
  const onTimeout = (): void => {
    if (stream.destroyed) return;
    if (stream.writableLength > 0 || stream.state.remoteClose === 0) {
      stalled.add(stream);
      stream.close(http2().constants.NGHTTP2_CANCEL);
    } else {
      stream.setTimeout(timeoutMs, onTimeout);
    }
  };
  stream.setTimeout(timeoutMs, onTimeout);
}
