import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkCrossOrigin, checkHost, createAuthenticator } from './access.js';
import { handleScript } from './cgi/handler.js';
import type { Config } from './config.js';
import type { RequestContext } from './context.js';
import { HttpError, sendError } from './errors.js';
import type { Resolver, Target } from './resolve.js';
import { sendListing, wantsJson } from './static/listing.js';
import { serveFile } from './static/serve-file.js';
import { Uploads } from './upload/handler.js';

/** connect/express's `next`: the request is the next handler's to answer. */
export type Next = (err?: unknown) => void;

/** The one error edge (server.ts): answers any failure with a status, a short page and a log entry. */
export type ErrorEdge = (ctx: RequestContext, err: unknown, next?: Next) => void;

/** Methods a file or directory answers; everything else is 405 (known write methods) or 501. */
const STATIC_ALLOW = 'GET, HEAD, OPTIONS';
const REFUSED_ON_STATIC = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);
/** Methods never served, whatever the target (RFC 9110 9.3.6, 9.3.8: a file server has no use for them). */
const NEVER_SERVED = new Set(['CONNECT', 'TRACE']);
/** How many local redirects a script may chain before the server gives up. */
const MAX_LOCAL_REDIRECTS = 8;
/** More header fields than this is 431: no real client sends them, and each one costs work. */
const MAX_HEADER_FIELDS = 100;
/** A longer request target is 414 (RFC 9112 3 recommends supporting at least 8000 octets). */
const MAX_URL_BYTES = 8192;
/** The 404 of a cached miss, handed to the error edge without a throw (see the `not-found` target). */
const NOT_FOUND = new HttpError(404);

/**
 * One request, top to bottom: request checks → built-in endpoints →
 * authentication → cross-origin check → resolve → dispatch. Each step throws
 * the HttpError that answers its failure; the caller passes what is thrown
 * to the one error edge (server.ts), which is also given here for the one
 * failure that is not thrown, a cached 404. Built once, at start-up.
 */
export class RequestPipeline {
  private readonly authenticate: ((req: IncomingMessage) => Promise<string>) | null;
  /** Uploads (src/upload/), when on: PUT and POST pass through its hook after resolving. */
  private readonly uploads: Uploads | null;

  constructor(
    private readonly config: Config,
    private readonly resolver: Resolver,
    private readonly answerError: ErrorEdge,
  ) {
    this.authenticate = config.access.users ? createAuthenticator(config.access.users) : null;
    this.uploads = config.upload ? new Uploads(config) : null;
  }

  /**
   * Answer a request. Returns undefined when it was answered synchronously
   * (the hot path: a cached file or 404 costs no promise), else a promise of
   * the answer. `next` (middleware) takes what this server does not answer.
   */
  handle(ctx: RequestContext, next?: Next): void | Promise<void> {
    checkRequest(this.config, ctx.req);
    // The place for built-in endpoints that need no credentials (none yet;
    // later: a health check, CORS preflights, live reload, job status): they
    // answer here, before authentication. `OPTIONS *` is not one of them: it
    // names the server, so it resolves (the `server` target) behind
    // authentication, as it always has.
    if (this.authenticate === null) return this.resolveAndDispatch(ctx, next);
    return this.authenticate(ctx.req).then((user) => {
      ctx.remoteUser = user;
      return this.resolveAndDispatch(ctx, next);
    });
  }

  /** The steps after authentication: the cross-origin check, resolve, dispatch. */
  private resolveAndDispatch(ctx: RequestContext, next: Next | undefined): void | Promise<void> {
    const { req, res } = ctx;
    checkCrossOrigin(this.config.access, req);
    if (this.config.access.cors) res.setHeader('Access-Control-Allow-Origin', '*');
    const method = req.method ?? 'GET';
    const target = this.resolver.resolve(req.url ?? '/', method);
    if (this.uploads !== null && (method === 'PUT' || method === 'POST')) {
      return this.uploads.take(ctx, method, target, async () => this.dispatch(ctx, await target, method, next));
    }
    if (target instanceof Promise) return target.then((t) => this.dispatch(ctx, t, method, next));
    return this.dispatch(ctx, target, method, next);
  }

  /** Each kind of target has one handler. */
  private dispatch(ctx: RequestContext, target: Target, method: string, next?: Next): void | Promise<void> {
    const { req, res } = ctx;
    switch (target.kind) {
      case 'file':
        return serveFile(req, res, this.config, target.file);
      case 'directory':
        return serveListing(req, res, target.body);
      case 'script':
        return this.runScript(ctx, target, method, next);
      case 'redirect':
        return answerRedirect(res, target.location, method);
      case 'other-method':
        return refuseMethod(res, method, next);
      case 'server':
        return answerOptions(res, STATIC_ALLOW);
      case 'not-found':
        return this.answerError(ctx, NOT_FOUND, next);
    }
  }

  /**
   * Run a script. While it answers with a local redirect (RFC 3875 6.2.2),
   * resolve the new path and dispatch again, as a GET (HEAD stays HEAD)
   * without a body.
   */
  private async runScript(ctx: RequestContext, target: Target & { kind: 'script' }, method: string, next?: Next): Promise<void> {
    let redirect = await handleScript(ctx, target.script, target.path, method);
    for (let hops = 0; redirect; hops++) {
      if (hops === MAX_LOCAL_REDIRECTS) throw new HttpError(502, { logMessage: 'too many local redirects' });
      const asGet = ctx.req.method === 'HEAD' ? 'HEAD' : 'GET';
      const found = await this.resolver.resolve(redirect.location, asGet);
      if (found.kind !== 'script') return this.dispatch(ctx, found, asGet, next);
      redirect = await handleScript(ctx, found.script, found.path, asGet, true);
    }
  }
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

async function serveListing(req: IncomingMessage, res: ServerResponse, body: (json: boolean) => Promise<Buffer>): Promise<void> {
  const json = await wantsJson(req);
  sendListing(req, res, await body(json), json);
}

/** A file or directory asked for with another method than GET or HEAD. */
function refuseMethod(res: ServerResponse, method: string, next: Next | undefined): void {
  if (next) return next();
  if (method === 'OPTIONS') return answerOptions(res, STATIC_ALLOW);
  if (REFUSED_ON_STATIC.has(method)) throw new HttpError(405, { headers: { Allow: STATIC_ALLOW } });
  throw new HttpError(501);
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
