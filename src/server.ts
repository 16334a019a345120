import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import { Server as NetServer, type Server, type Socket } from 'node:net';
import { ScriptPool } from './cgi/pool.js';
import { reloadRoutes, resolveConfig, type Config, type ServeOptions } from './config.js';
import { newContext, type RequestContext } from './context.js';
import { ERROR_PAGE_HEADERS, HttpError, reasonPhrase, renderErrorPage, sendError } from './errors.js';
import { HealthCheck } from './health.js';
import { Lifecycle } from './lifecycle.js';
import { formatAccess, sentBodyBytes } from './log.js';
import { NearestFolder } from './nearest-folder.js';
import { RequestPipeline, type ErrorEdge, type Next } from './pipeline.js';
import { Resolver } from './resolve.js';
import { adoptAuthority } from './transport/http2-request.js';
import { controlOf, createListeningServer, type Http1Server } from './transport/listen.js';

/** A node:http request listener; `next` (connect/express) is called when the handler declines. */
export interface RequestHandler {
  (req: IncomingMessage, res: ServerResponse, next?: Next): void;
  /**
   * Release what the handler holds: its file-system watches and cache, and
   * the warm Python fork server. Scripts still running finish on their own.
   * Requests after close() are still served, without the cache or warm mode.
   */
  close(): void;
  /**
   * Re-read the config file's routes (with their webhook rules, verification
   * and secrets) for new requests; requests in flight finish with the old
   * ones. Returns the other changed keys, which need a restart. Throws
   * ConfigError for a bad file, and the old routes stay.
   */
  reload(): string[];
}

type Listener = (req: IncomingMessage, res: ServerResponse, next?: Next) => void;

function isConfig(o: ServeOptions | Config): o is Config {
  return typeof (o as Config).cacheControl === 'string' && (o as Config).hiddenFiles instanceof Set;
}

/** What createHandler and createServer share: the config validated once, the script pool, the lifecycle, the handler over them. */
function assemble(options: ServeOptions | Config): { config: Config; scripts: ScriptPool; lifecycle: Lifecycle; handler: RequestHandler } {
  const config = isConfig(options) ? options : resolveConfig(options);
  const scripts = new ScriptPool(config);
  const lifecycle = new Lifecycle();
  // What a reload replaces: the config with its routes, and the resolver (whose cache knows which paths routes cover).
  let current = { config, resolver: new Resolver(config) };
  let listener = listenerFor(current.config, scripts, current.resolver, lifecycle);
  const handler: RequestHandler = Object.assign((req: IncomingMessage, res: ServerResponse, next?: Next) => listener(req, res, next), {
    close(): void {
      current.resolver.close();
      scripts.close();
    },
    reload(): string[] {
      const { config: next, restart } = reloadRoutes(current.config);
      const old = current.resolver;
      current = { config: next, resolver: new Resolver(next) };
      listener = listenerFor(current.config, scripts, current.resolver, lifecycle);
      old.close();
      return restart;
    },
  });
  return { config, scripts, lifecycle, handler };
}

/**
 * A request handler for any node:http server, or connect/express middleware.
 * Options are validated here, once (throws ConfigError).
 */
export function createHandler(options: ServeOptions | Config = {}): RequestHandler {
  return assemble(options).handler;
}

/**
 * The request listener: a context, the access line when the response closes,
 * the pipeline, and the error edge for whatever it throws, synchronously or
 * not.
 */
function listenerFor(config: Config, scripts: ScriptPool, resolver: Resolver, lifecycle: Lifecycle): Listener {
  const answerError = errorEdge(new NearestFolder(config, () => resolver.cacheGeneration));
  const health = config.health === null ? null : new HealthCheck(config.health, lifecycle, config.logHealth);
  const pipeline = new RequestPipeline(config, resolver, answerError, health);
  return (req, res, next) => {
    // Stopping: this connection's next response is its last (see startDraining).
    // HTTP/1 only: HTTP/2 forbids the field (RFC 9113 8.2.2) and ends a connection with GOAWAY.
    if (lifecycle.phase !== 'serving' && req.httpVersionMajor === 1) res.setHeader('Connection', 'close');
    if (req.httpVersionMajor === 2) adoptAuthority(req);
    const ctx = newContext(req, res, config, scripts);
    if (ctx.record) logWhenClosed(ctx, performance.now());
    try {
      const pending = pipeline.handle(ctx, next);
      if (pending !== undefined) pending.catch((err: unknown) => answerError(ctx, err, next));
    } catch (err) {
      answerError(ctx, err, next);
    }
  };
}

/**
 * Write the request's access line when its response closes. Body bytes: what
 * a streaming step counted, else what writeHead or Content-Length announced.
 * A script's exit joins the line when it comes.
 */
function logWhenClosed(ctx: RequestContext, started: number): void {
  const { req, res, config } = ctx;
  const record = ctx.record!;
  res.once('close', () => {
    if (ctx.unlogged) return;
    record.status = res.statusCode;
    record.ms = performance.now() - started;
    record.aborted = !res.writableFinished;
    if (ctx.bytes !== null) record.bytes = ctx.bytes;
    else if (req.method !== 'HEAD' && res.statusCode !== 304) record.bytes = sentBodyBytes.get(res) ?? Number(res.getHeader('content-length') ?? 0);
    if (!ctx.scriptDone) {
      config.log!(formatAccess(record, config.logFormat));
      return;
    }
    void ctx.scriptDone.then((outcome) => {
      record.script = outcome;
      config.log!(formatAccess(record, config.logFormat));
    });
  });
}

/**
 * THE error edge: every failure of a request ends here. Known failures give
 * their status and a short page; anything else is a generic 500 whose detail
 * goes only to the log. If the headers are already out, the only honest
 * answer is to cut the connection. As middleware, a 404 is the next
 * handler's to answer. A 404 or 403 page links back to the nearest existing
 * parent folder, looked up only for requests past every check (a refused
 * Host, which may be a DNS-rebinding page, or a missing password learns
 * nothing from it); other pages link to `/`.
 */
function errorEdge(folders: NearestFolder): ErrorEdge {
  return function answerError(ctx: RequestContext, err: unknown, next: Next | undefined): void {
    const { req, res, record } = ctx;
    const known = err instanceof HttpError;
    const status = known ? err.status : 500;
    if (next && status === 404 && known) return next();
    if (record) {
      if (!known || status >= 500) record.error = err instanceof Error ? err.message : String(err);
      else if (err.message !== reasonPhrase(status) && err.message !== err.publicMessage) record.error = err.message;
    }
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const send = (back: string): void => {
      if (res.headersSent || res.destroyed) return;
      const bytes = sendError(res, status, {
        message: known ? err.publicMessage : undefined,
        headers: known ? err.headers : undefined,
        head: req.method === 'HEAD',
        back: ctx.config.basePath + back,
      });
      if (record) sentBodyBytes.set(res, bytes);
    };
    const back = (status === 404 || status === 403) && ctx.checked ? folders.find(ctx.url) : '/';
    if (typeof back === 'string') send(back);
    else back.then(send, () => send('/'));
  };
}

/** Status for a request the HTTP parser refused before any handler saw it. */
function clientErrorStatus(err: NodeJS.ErrnoException): number {
  switch (err.code) {
    case 'HPE_INVALID_METHOD':
      return 501;
    case 'HPE_HEADER_OVERFLOW':
      return 431;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 408;
    default:
      return 400;
  }
}

/** A complete raw error response for a socket that has no ServerResponse. */
export function rawErrorResponse(status: number): string {
  const body = renderErrorPage(status);
  const headers = [
    `HTTP/1.1 ${status} ${reasonPhrase(status)}`,
    `Date: ${new Date().toUTCString()}`,
    ...Object.entries(ERROR_PAGE_HEADERS).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  return headers.join('\r\n') + '\r\n\r\n' + body;
}

/**
 * A server for the options, ready to `listen()`: node:http's, or with TLS
 * node:http2's (HTTP/2 by ALPN, HTTP/1.1 as fallback) or node:https's, or with
 * `h2c` a net.Server that passes each connection to HTTP/1.1 or HTTP/2
 * (src/transport/listen.ts). Requests the HTTP/1.x parser refuses (unknown
 * methods such as `FOO` or lowercase `get`, bad framing, oversized headers,
 * timeouts) are answered here with a proper status instead of Node's bare close.
 */
export function createServer(options: ServeOptions | Config = {}): Server {
  const { config, scripts, lifecycle, handler } = assemble(options);
  const server = createListeningServer(config, handler, { options: http1Options(config), setup: (s) => setUpHttp1(s, config) });
  server.on('close', () => handler.close());
  pools.set(server, scripts);
  handlers.set(server, handler);
  trackConnections(server, lifecycle);
  return server;
}

/** The HTTP/1.x side's limits and timeouts. */
function http1Options(config: Config): ServerOptions {
  return {
    requireHostHeader: false,
    headersTimeout: Math.min(config.headerTimeoutMs, config.requestTimeoutMs),
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: 5000,
    // How often Node checks the two timeouts above; its default of 30 s would let a
    // slowloris client hold a connection half a minute past its deadline.
    connectionsCheckingInterval: 1000,
  };
}

/** The HTTP/1.x side's answers to what the parser refuses, CONNECT, and `Expect: 100-continue`. */
function setUpHttp1(server: Http1Server, config: Config): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const status = clientErrorStatus(err);
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) {
      // The client left (mid-body, for the latter): closing stops whatever serves its request.
      socket.destroy();
      return;
    }
    if (inFlight && !inFlight.writableFinished) {
      if (inFlight.req?.complete) {
        // A bad request pipelined behind a good one: answers go out in request
        // order (RFC 9112 9.3.2), so the error waits for the response in flight.
        inFlight.once('finish', () => socket.end(rawErrorResponse(status)));
        inFlight.once('close', () => socket.destroy());
        return;
      }
      // The in-flight request's own body is malformed or too slow (400, 408):
      // answer that, if its response has not started, and close, which stops
      // whatever was serving it (a script is killed when its response closes).
      if (inFlight.headersSent) {
        socket.destroy();
        return;
      }
    }
    config.log?.(
      formatAccess(
        { time: new Date(), client: socket.remoteAddress ?? '-', method: '-', path: '-', status, bytes: 0, ms: 0, error: err.code ?? err.message },
        config.logFormat,
      ),
    );
    socket.end(rawErrorResponse(status));
  });
  // Without a listener Node drops CONNECT silently; say 501 instead.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(rawErrorResponse(501));
  });
  // Send 100 Continue only when a script is about to read the body, so that a
  // refused request (405, 413, 404) never invites the client to upload it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    (req as IncomingMessage & { expectContinue?: boolean }).expectContinue = true;
    server.emit('request', req, res);
  });
}

const pools = new WeakMap<Server, ScriptPool>();
/** How long a stop waits for killed scripts to be reaped before the process exits anyway. */
const KILLED_REAP_MS = 1000;
const handlers = new WeakMap<Server, RequestHandler>();

/** Reload the config file's routes of a server from {@link createServer}: see {@link RequestHandler.reload}. */
export function reloadServer(server: Server): string[] {
  const handler = handlers.get(server);
  if (!handler) throw new Error('not a server from createServer');
  return handler.reload();
}

/** What a stop needs of a server: its lifecycle, and its open connections (to end keep-alive). */
interface StopState {
  readonly lifecycle: Lifecycle;
  readonly sockets: Set<Socket>;
}
const stopStates = new WeakMap<Server, StopState>();

function trackConnections(server: Server, lifecycle: Lifecycle): void {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', track);
  // Over TLS the HTTP parser sits on the TLS socket, not on the TCP one 'connection' gives.
  server.on('secureConnection', track);
  stopStates.set(server, { lifecycle, sockets });
}

/**
 * Begin the drain of a stop: the health check (--health) answers 503 while
 * everything else is still served, and keep-alive ends (see endKeepAlive).
 * stop.ts's {@link stopGracefully} calls it, waits --drain-delay, then
 * {@link closeGracefully}.
 */
export function startDraining(server: Server): void {
  const state = stopStates.get(server);
  if (state && state.lifecycle.phase === 'serving') endKeepAlive(state, 'draining');
}

/**
 * Make every response not yet begun the last of its connection
 * (`Connection: close`, RFC 9112 9.6), and every later one (the listener
 * checks the phase). From the drain on, as Envoy does: a balancer's pooled
 * connections to this instance are then closed by the balancer after their
 * next response, so that by the time the server stops listening there are
 * almost no idle ones left to close, and none is closed under a request the
 * balancer is sending at that moment (nginx never resends a POST).
 */
function endKeepAlive(state: StopState, phase: 'draining' | 'closing'): void {
  state.lifecycle.phase = phase;
  for (const socket of state.sockets) {
    const res = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (res && !res.headersSent && !res.writableEnded) res.setHeader('Connection', 'close');
  }
}

/**
 * Shut a server from {@link createServer} down: stop accepting, end
 * keep-alive (`Connection: close` on each connection's next response, idle
 * connections closed), let in-flight requests and running scripts finish
 * for up to `graceMs`, then kill the scripts' process groups and cut what
 * remains. Resolves when everything is closed.
 *
 * `letIdleExpire` (behind a balancer, after a drain): idle connections are
 * not closed by the server but left to the peer, or to the keep-alive
 * timeout (5 s). A balancer may be writing a request on an idle pooled
 * connection at the very moment the server would close it, and nginx never
 * resends a POST; its upstream `keepalive_timeout` (below 5 s) makes it
 * close them first.
 */
export async function closeGracefully(server: Server, graceMs: number, { letIdleExpire = false } = {}): Promise<void> {
  const scripts = pools.get(server);
  const state = stopStates.get(server);
  if (state) endKeepAlive(state, 'closing');
  // Queued webhook jobs never start now; running ones get the grace period like scripts.
  scripts?.jobs.stop();
  const control = controlOf(server)!;
  // node:http's close() also closes idle connections; net's only stops listening.
  const close = letIdleExpire ? NetServer.prototype.close : server.close;
  const closed = new Promise<void>((resolve) => close.call(server, () => resolve()));
  if (!letIdleExpire) control.closeIdle();
  const idleTimer = letIdleExpire ? undefined : setInterval(() => control.closeIdle(), 100);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  const outcome = await Promise.race([Promise.all([closed, scripts?.idle()]), deadline]);
  clearTimeout(timer);
  clearInterval(idleTimer);
  if (outcome === 'late') {
    scripts?.killAll();
    control.closeAll();
    await closed;
    // SIGKILL is not instant: wait (briefly) until the killed are reaped, so their ends are logged.
    if (scripts) await Promise.race([scripts.idle(), new Promise((resolve) => setTimeout(resolve, KILLED_REAP_MS).unref())]);
  }
}

/** SIGKILL the process groups of every script a server from {@link createServer} is running. */
export function killScripts(server: Server): void {
  pools.get(server)?.killAll();
}
