import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { checkCrossOrigin, checkHost, createAuthenticator } from './access.js';
import { handleScript, ScriptPool } from './cgi/handler.js';
import { resolveConfig, type Config, type ServeOptions } from './config.js';
import { ERROR_PAGE_HEADERS, HttpError, reasonPhrase, renderErrorPage, sendError } from './errors.js';
import { formatAccess, type AccessRecord, type ScriptOutcome } from './log.js';
import { parseRequestTarget, type RequestPath } from './request-path.js';
import { resolveTarget, type Target } from './resolve.js';
import { StaticFiles, type MissTicket } from './static/handler.js';
import { sentBodyBytes } from './static/serve-file.js';

/** A node:http request listener; `next` (connect/express) is called when the handler declines. */
export interface RequestHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  /**
   * Release what the handler holds: its file-system watches and cache, and
   * the warm Python fork server. Scripts still running finish on their own.
   * Requests after close() are still served, without the cache or warm mode.
   */
  close(): void;
}

/** Per-request state shared by the steps of one request. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly config: Config;
  readonly scripts: ScriptPool;
  readonly statics: StaticFiles;
  readonly record: AccessRecord;
  /** Body bytes written so far by a streaming step (scripts); null means "use Content-Length". */
  bytes: number | null;
  /** Set when a script runs: its outcome joins the request's log line. */
  scriptDone?: Promise<ScriptOutcome>;
  /** Answer as if `target` (a local path, RFC 3875 6.2.2) had been requested with GET. */
  readonly redirectLocally: (location: string) => Promise<void>;
  /** The user HTTP Basic authentication let in (REMOTE_USER), if any. */
  remoteUser?: string;
  /** Local redirects followed so far for this request. */
  localRedirects: number;
}

/** Methods a file or directory answers; everything else is 405 (known write methods) or 501. */
const STATIC_ALLOW = 'GET, HEAD, OPTIONS';
const REFUSED_ON_STATIC = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);
/** Methods never served, whatever the target (RFC 9110 9.3.6, 9.3.8: a file server has no use for them). */
const NEVER_SERVED = new Set(['CONNECT', 'TRACE']);
/** How many local redirects a script may chain before the server gives up. */
const MAX_LOCAL_REDIRECTS = 8;

function isConfig(o: ServeOptions | Config): o is Config {
  return typeof (o as Config).cacheControl === 'string' && (o as Config).hiddenFiles instanceof Set;
}

/**
 * A request handler for any node:http server, or connect/express middleware.
 * Options are validated here, once (throws ConfigError).
 */
export function createHandler(options: ServeOptions | Config = {}): RequestHandler {
  const config = isConfig(options) ? options : resolveConfig(options);
  const scripts = new ScriptPool(config);
  const statics = new StaticFiles(config);
  return Object.assign(handlerFor(config, scripts, statics), {
    close(): void {
      statics.close();
      scripts.close();
    },
  });
}

/** More header fields than this is 431: no real client sends them, and each one costs work. */
const MAX_HEADER_FIELDS = 100;
/** A longer request target is 414 (RFC 9112 3 recommends supporting at least 8000 octets). */
const MAX_URL_BYTES = 8192;

function handlerFor(config: Config, scripts: ScriptPool, statics: StaticFiles): (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void {
  const authenticate = config.access.users ? createAuthenticator(config.access.users) : null;
  // The hot path (a cached file or 404, no auth, not middleware) is answered
  // synchronously, without the per-request context; its checks run only on a hit.
  const fast = statics.cache !== null && authenticate === null;
  const checks = (req: IncomingMessage): boolean => passesChecks(config, req);
  return (req, res, next) => {
    if (fast && !next) {
      const started = config.log ? performance.now() : 0;
      if (statics.serveFast(req, res, checks)) {
        if (config.log) {
          const record = newRecord(req);
          res.once('close', () => config.log!(formatAccess(finishRecord(record, req, res, started, null), config.logFormat)));
        }
        return;
      }
    }
    const record = newRecord(req);
    const started = performance.now();
    const ctx: RequestContext = {
      req,
      res,
      config,
      scripts,
      statics,
      record,
      bytes: null,
      redirectLocally: (location) => redirectLocally(ctx, location),
      localRedirects: 0,
    };
    if (config.log) res.once('close', () => logAccess(ctx, started));
    handleRequest(ctx, authenticate, next).catch((err: unknown) => answerError(ctx, err));
  };
}

/** The checks every request passes before its target is looked at; throws the HttpError that answers a failure. */
function checkRequest(config: Config, req: IncomingMessage): void {
  if ((req.url ?? '').length > MAX_URL_BYTES) throw new HttpError(414);
  if (req.rawHeaders.length > 2 * MAX_HEADER_FIELDS) throw new HttpError(431, { publicMessage: 'Too many header fields.' });
  // RFC 9112 3.2: an HTTP/1.1 request without Host, or with two, is 400. Node's own
  // requireHostHeader answers without our page, so the check lives here.
  const hosts = countHostHeaders(req);
  if (hosts > 1) throw new HttpError(400, { publicMessage: 'More than one Host header.' });
  if (hosts === 0 && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) {
    throw new HttpError(400, { publicMessage: 'HTTP/1.1 requests need a Host header.' });
  }
  if (NEVER_SERVED.has(req.method ?? 'GET')) throw new HttpError(501);
  checkHost(config.access, req);
}

/** {@link checkRequest} for the hot path: false sends the request down the normal path, which answers it. */
function passesChecks(config: Config, req: IncomingMessage): boolean {
  if (config.access.cors) return false;
  try {
    checkRequest(config, req);
    return true;
  } catch {
    return false;
  }
}

/** The request side of an access record, taken when the request arrives. */
function newRecord(req: IncomingMessage): AccessRecord {
  return {
    time: new Date(),
    client: req.socket.remoteAddress ?? '-',
    method: req.method ?? '-',
    path: req.url ?? '-',
    status: 0,
    bytes: 0,
    ms: 0,
  };
}

/**
 * The response side, when the response closes. Body bytes: what a streaming
 * step counted, else what writeHead or Content-Length announced.
 */
function finishRecord(record: AccessRecord, req: IncomingMessage, res: ServerResponse, started: number, streamed: number | null): AccessRecord {
  record.status = res.statusCode;
  record.ms = performance.now() - started;
  record.aborted = !res.writableFinished;
  if (streamed !== null) record.bytes = streamed;
  else if (req.method !== 'HEAD' && res.statusCode !== 304) record.bytes = sentBodyBytes.get(res) ?? Number(res.getHeader('content-length') ?? 0);
  return record;
}

function logAccess(ctx: RequestContext, started: number): void {
  const { req, res, record, config } = ctx;
  finishRecord(record, req, res, started, ctx.bytes);
  if (!ctx.scriptDone) {
    config.log!(formatAccess(record, config.logFormat));
    return;
  }
  void ctx.scriptDone.then((outcome) => {
    record.script = outcome;
    config.log!(formatAccess(record, config.logFormat));
  });
}

async function handleRequest(
  ctx: RequestContext,
  authenticate: ((req: IncomingMessage) => Promise<string>) | null,
  next?: (err?: unknown) => void,
): Promise<void> {
  const { req, res, config } = ctx;
  const method = req.method ?? 'GET';
  checkRequest(config, req);
  if (authenticate) ctx.remoteUser = await authenticate(req);
  checkCrossOrigin(config.access, req);
  if (config.access.cors) res.setHeader('Access-Control-Allow-Origin', '*');
  const url = req.url ?? '/';
  if (method === 'OPTIONS' && url === '*') return answerOptions(res, STATIC_ALLOW);
  try {
    if ((method === 'GET' || method === 'HEAD') && ctx.statics.cache) {
      const hit = ctx.statics.serveHit(req, res, url);
      if (hit !== false) return hit === true ? undefined : await hit;
    }
    const path = parseRequestTarget(url);
    const cachedScript = ctx.statics.cachedScript(url, path, method);
    if (cachedScript) return await handleScript(ctx, cachedScript, path, method);
    const ticket = ctx.statics.prepareMiss(url, path, method);
    const scriptTicket = ticket ? null : ctx.statics.prepareScriptMiss(url, path);
    let target: Target;
    try {
      target = await resolveTarget(config, path, method);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) ctx.statics.rememberMissing(ticket, path);
      throw err;
    }
    if (target.kind === 'script') ctx.statics.rememberScript(scriptTicket, target.script);
    return await dispatch(ctx, target, path, method, next, ticket);
  } catch (err) {
    if (next && err instanceof HttpError && err.status === 404) return next();
    throw err;
  }
}

async function dispatch(
  ctx: RequestContext,
  target: Target,
  path: RequestPath,
  method: string,
  next?: (err?: unknown) => void,
  ticket: MissTicket | null = null,
): Promise<void> {
  const { req, res } = ctx;
  switch (target.kind) {
    case 'script':
      return handleScript(ctx, target.script, path, method);
    case 'redirect':
      return answerRedirect(res, target.location, method);
    case 'file':
    case 'directory':
      if (method !== 'GET' && method !== 'HEAD') {
        if (next) return next();
        if (method === 'OPTIONS') return answerOptions(res, STATIC_ALLOW);
        if (REFUSED_ON_STATIC.has(method)) throw new HttpError(405, { headers: { Allow: STATIC_ALLOW } });
        throw new HttpError(501);
      }
      if (target.kind === 'file') return ctx.statics.serveFileTarget(req, res, target, ticket);
      return ctx.statics.serveDirectoryTarget(req, res, target, ticket);
  }
}

/** How many Host fields the request has (two make the target ambiguous). */
function countHostHeaders(req: IncomingMessage): number {
  const raw = req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host')) seen++;
  }
  return seen;
}

function answerOptions(res: ServerResponse, allow: string): void {
  res.statusCode = 204;
  res.setHeader('Allow', allow);
  res.end();
}

/**
 * 301 for GET/HEAD (what python's and every file server send for a directory
 * without its slash); 308 otherwise so that the method and body survive.
 */
function answerRedirect(res: ServerResponse, location: string, method: string): void {
  sendError(res, method === 'GET' || method === 'HEAD' ? 301 : 308, { headers: { Location: location }, head: method === 'HEAD' });
}

async function redirectLocally(ctx: RequestContext, location: string): Promise<void> {
  if (++ctx.localRedirects > MAX_LOCAL_REDIRECTS) throw new HttpError(502, { logMessage: 'too many local redirects' });
  const path = parseRequestTarget(location);
  const method = ctx.req.method === 'HEAD' ? 'HEAD' : 'GET';
  const target = await resolveTarget(ctx.config, path, method);
  // RFC 3875 6.2.2: the server answers as if the client had asked for the new path with GET.
  if (target.kind === 'script') return handleScript(ctx, target.script, path, method, true);
  return dispatch(ctx, target, path, method);
}

/**
 * THE error edge: every failure of a request ends here. Known failures give
 * their status and a short page; anything else is a generic 500 whose detail
 * goes only to the log. If the headers are already out, the only honest
 * answer is to cut the connection.
 */
function answerError(ctx: RequestContext, err: unknown): void {
  const { req, res, record } = ctx;
  const known = err instanceof HttpError;
  const status = known ? err.status : 500;
  if (!known || status >= 500) record.error = err instanceof Error ? err.message : String(err);
  else if (err.message !== reasonPhrase(status) && err.message !== err.publicMessage) record.error = err.message;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  sendError(res, status, {
    message: known ? err.publicMessage : undefined,
    headers: known ? err.headers : undefined,
    head: req.method === 'HEAD',
  });
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
 * A node:http server for the options, ready to `listen()`. Requests the
 * parser refuses (unknown methods such as `FOO` or lowercase `get`, bad
 * framing, oversized headers, timeouts) are answered here with a proper status
 * instead of Node's bare close.
 */
export function createServer(options: ServeOptions | Config = {}): Server {
  const config = isConfig(options) ? options : resolveConfig(options);
  const scripts = new ScriptPool(config);
  const statics = new StaticFiles(config);
  const server = createHttpServer(
    {
      requireHostHeader: false,
      headersTimeout: Math.min(config.headerTimeoutMs, config.requestTimeoutMs),
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: 5000,
      // How often Node checks the two timeouts above; its default of 30 s would let a
      // slowloris client hold a connection half a minute past its deadline.
      connectionsCheckingInterval: 1000,
    },
    handlerFor(config, scripts, statics),
  );
  server.on('close', () => {
    statics.close();
    scripts.close();
  });
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
  pools.set(server, scripts);
  return server;
}

const pools = new WeakMap<Server, ScriptPool>();

/**
 * Shut a server from {@link createServer} down: stop accepting, close idle
 * keep-alive connections, let in-flight requests and running scripts finish
 * for up to `graceMs`, then kill the scripts' process groups and cut what
 * remains. Resolves when everything is closed.
 */
export async function closeGracefully(server: Server, graceMs: number): Promise<void> {
  const scripts = pools.get(server);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const idleTimer = setInterval(() => server.closeIdleConnections(), 100);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  const outcome = await Promise.race([Promise.all([closed, scripts?.idle()]), deadline]);
  clearTimeout(timer);
  clearInterval(idleTimer);
  if (outcome === 'late') {
    scripts?.killAll();
    server.closeAllConnections();
    await closed;
  }
}

/** SIGKILL the process groups of every script a server from {@link createServer} is running. */
export function killScripts(server: Server): void {
  pools.get(server)?.killAll();
}
