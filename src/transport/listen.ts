/**
 * The listening server for a Config: plain HTTP/1.1 (node:http), HTTPS with
 * HTTP/2 negotiated by ALPN and HTTP/1.1 as fallback (node:http2,
 * `allowHTTP1`), HTTPS/1.1 only (`--no-http2`), or cleartext HTTP/1.1 plus
 * HTTP/2 with prior knowledge on one port (`--h2c`: the first bytes of each
 * connection decide, since Node's `allowHTTP1` does this only over TLS).
 * Every kind hands its requests to the same listener; the HTTP/1.x side is
 * set up by server.ts (its limits, its answers to refused requests).
 * HTTP/2 sessions get their limits here (http2-guard.ts).
 */
import { createServer as createHttpServer, Server as HttpServer, type IncomingMessage, type ServerOptions, type ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type {
  Http2SecureServer,
  Http2ServerRequest,
  Http2ServerResponse,
  Http2Server,
  ServerHttp2Session,
} from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Config } from '../config.js';
import { onReload } from '../signals.js';
import { lazy } from '../lazy.js';
import { guardSessions, HTTP2_OPTIONS } from './http2-guard.js';
import { loadTls } from './tls.js';

/** node:https and node:http2, loaded only by a server that uses them (lazy.ts): plain HTTP never pays for them. */
const https = lazy<typeof import('node:https')>('node:https');
const http2 = lazy<typeof import('node:http2')>('node:http2');

/** The request listener every kind of server calls. */
export type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** A server that speaks HTTP/1.x: node:http's, node:https's, or node:http2's with `allowHTTP1`. */
export type Http1Server = HttpServer | HttpsServer | Http2SecureServer;

/** What the HTTP/1.x side needs from server.ts: its node:http options, and the set-up of its events. */
export interface Http1Setup {
  readonly options: ServerOptions;
  readonly setup: (server: Http1Server) => void;
}

/** How to close what a server holds open, whatever its kind. */
export interface ServerControl {
  /** Close idle keep-alive connections, and ask HTTP/2 sessions to finish (GOAWAY) once their streams are done. */
  closeIdle(): void;
  /** Cut every connection and session at once. */
  closeAll(): void;
}

const controls = new WeakMap<NetServer, ServerControl>();

/** The control of a server from {@link createListeningServer}. */
export function controlOf(server: NetServer): ServerControl | undefined {
  return controls.get(server);
}

/** The first bytes of every HTTP/2 connection (RFC 9113 3.4). */
export const HTTP2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Build the server for this config, ready to `listen()`. */
export function createListeningServer(config: Config, listener: Listener, http1: Http1Setup): NetServer {
  if (config.tls) return config.http2 ? secureHttp2(config, listener, http1) : secureHttp1(config, listener, http1);
  if (config.h2c) return cleartextBoth(config, listener, http1);
  const server = createHttpServer(http1.options, listener);
  http1.setup(server);
  controls.set(server, { closeIdle: () => server.closeIdleConnections(), closeAll: () => server.closeAllConnections() });
  return server;
}

/** TLS options shared by both HTTPS kinds: the material and a handshake deadline as long as the header timeout. */
function tlsOptions(config: Config): { cert: Buffer; key: Buffer; passphrase: string | undefined; handshakeTimeout: number } {
  const { cert, key, passphrase } = config.tls!.material;
  return { cert, key, passphrase, handshakeTimeout: Math.min(config.headerTimeoutMs, config.requestTimeoutMs) };
}

/**
 * Reload the certificate on SIGHUP (signals.ts): load and check the same
 * source again; only a good pair replaces the old one (a bad one throws,
 * which the reload's log line reports, and the old one stays). Connections
 * already open keep their session; new handshakes get the new certificate.
 */
function reloadCertificates(config: Config, server: HttpsServer | Http2SecureServer): void {
  const unregister = onReload('certificates', () => {
    const material = loadTls(config.tls!.source);
    server.setSecureContext({ cert: material.cert, key: material.key, passphrase: material.passphrase });
    for (const warning of material.warnings) process.stderr.write(`scriptserve: warning: ${warning}\n`);
  });
  server.once('close', unregister);
}

function secureHttp1(config: Config, listener: Listener, http1: Http1Setup): HttpsServer {
  const server = https().createServer({ ...http1.options, ...tlsOptions(config), ALPNProtocols: ['http/1.1'] }, listener);
  http1.setup(server);
  reloadCertificates(config, server);
  controls.set(server, { closeIdle: () => server.closeIdleConnections(), closeAll: () => server.closeAllConnections() });
  return server;
}

function secureHttp2(config: Config, listener: Listener, http1: Http1Setup): Http2SecureServer {
  const server = http2().createSecureServer({ ...HTTP2_OPTIONS, ...tlsOptions(config), allowHTTP1: true }, asListener(listener));
  // node:http2 reads the HTTP/1.1 side's limits from the server object, as node:http does.
  Object.assign(server, http1.options);
  http1.setup(server);
  reloadCertificates(config, server);
  const sessions = guardSessions(server, config);
  controls.set(server, {
    closeIdle: () => {
      // node:http2 tracks the HTTP/1.1 connections of allowHTTP1 as node:http does.
      HttpServer.prototype.closeIdleConnections.call(server as unknown as HttpServer);
      sessions.closeIdle();
    },
    closeAll: () => {
      HttpServer.prototype.closeAllConnections.call(server as unknown as HttpServer);
      sessions.closeAll();
    },
  });
  return server;
}

/**
 * Cleartext HTTP/1.1 and HTTP/2 on one port: a net.Server reads each
 * connection's first bytes; the HTTP/2 preface hands the socket to an
 * http2 server, anything else to the HTTP/1.1 one (neither listens itself).
 * The bytes read are pushed back first, so each parser sees the whole stream.
 */
function cleartextBoth(config: Config, listener: Listener, http1: Http1Setup): NetServer {
  const h1 = createHttpServer(http1.options, listener);
  http1.setup(h1);
  const h2 = http2().createServer({ ...HTTP2_OPTIONS }, asListener(listener));
  const sessions = guardSessions(h2, config);
  const sniffing = new Set<Socket>();
  const front = createNetServer((socket) => sniff(socket, config.headerTimeoutMs, sniffing, (isHttp2) => {
    if (isHttp2) h2.emit('connection', socket);
    else {
      h1.emit('connection', socket);
      // node:http reads the socket's handle directly; the bytes pushed back wait in the stream until it flows.
      socket.resume();
    }
  }));
  // node:http tracks connections (and checks its timeouts) from 'listening'; the front listens for it.
  front.on('listening', () => h1.emit('listening'));
  front.on('close', () => {
    h1.close();
    h2.close();
  });
  controls.set(front, {
    closeIdle: () => {
      h1.closeIdleConnections();
      sessions.closeIdle();
    },
    closeAll: () => {
      h1.closeAllConnections();
      sessions.closeAll();
      for (const socket of sniffing) socket.destroy();
    },
  });
  return front;
}

/**
 * Read until the first bytes are the HTTP/2 preface or cannot be; then push
 * them back and decide. A client that sends nothing within the header
 * timeout is closed, as node:http would.
 */
function sniff(socket: Socket, timeoutMs: number, sniffing: Set<Socket>, decide: (isHttp2: boolean) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  sniffing.add(socket);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const done = (): void => {
    clearTimeout(timer);
    sniffing.delete(socket);
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('close', done);
  };
  const onError = (): void => void socket.destroy();
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, HTTP2_PREFACE.length);
    const isHttp2 = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
    if (isHttp2 && n < HTTP2_PREFACE.length) return;
    done();
    socket.pause();
    socket.unshift(seen);
    decide(isHttp2);
  };
  socket.on('data', onData);
  socket.on('error', onError);
  socket.once('close', done);
}

/** node:http2's compatibility request and response stand in for node:http's (the listener's types). */
function asListener(listener: Listener): (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse) => void {
  return listener as unknown as (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse) => void;
}

export type { Http2Server, ServerHttp2Session };
