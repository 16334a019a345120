import type { IncomingMessage, ServerResponse } from 'node:http';
import { sep } from 'node:path';
import { checkCrossOrigin, checkHost, createAuthenticator } from './access.js';
import { belowBasePath, localLocation } from './base-path.js';
import { handleScript } from './cgi/handler.js';
import type { Config } from './config.js';
import type { LiveReload } from './live-reload/endpoint.js';
import type { RequestContext } from './context.js';
import { answerPreflight, isPreflight, refuseUnlessAllowed } from './cors.js';
import { HttpError, sendError } from './errors.js';
import type { HealthCheck } from './health.js';
import { isScriptOrRoutePath, Lookup, NOT_FOUND_PAGE, type LookupTarget } from './lookup.js';
import { encodePath, parseRequestTarget, type RequestPath } from './request-path.js';
import { routeMatchesPath, type Resolver, type Target } from './resolve.js';
import { markScriptResponse } from './response-headers.js';
import type { RedirectOutcome } from './rewrite.js';
import { asksForArchive, sendArchive } from './static/archive.js';
import { sendListing, wantsJson } from './static/listing.js';
import { listingExtras } from './static/listing-extras.js';
import { listingCsp } from './static/listing-page.js';
import { parseListingQuery, queryOf } from './static/listing-view.js';
import { sendNotFoundPage } from './static/not-found-page.js';
import { serveFile } from './static/serve-file.js';
import { checkAuthority } from './transport/http2-request.js';
import { JOBS_PATH } from './webhook/jobs.js';
import { Uploads } from './upload/handler.js';
import { uploadMethods } from './upload/place.js';

/** connect/express's `next`: the request is the next handler's to answer. */
export type Next = (err?: unknown) => void;

/** The one error edge (server.ts): answers any failure with a status, a short page and a log entry. */
export type ErrorEdge = (ctx: RequestContext, err: unknown, next?: Next) => void;

/** Methods a file or directory answers; everything else is 405 (known write methods) or 501. */
const STATIC_ALLOW = 'GET, HEAD, OPTIONS';
/** What a CGI script may be asked with (it chooses what to do with each), in the order preflight answers list them. */
const SCRIPT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
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
  /** The resolver with a miss's aliases (rewrites, --ext, --spa, 404.html) in front (lookup.ts). */
  private readonly lookup: Lookup;
  /** Paths cleanUrls never redirects: script directories and this config's command routes. */
  private readonly exempt = (path: RequestPath): boolean => isScriptOrRoutePath(this.config, path);
  /** Uploads (src/upload/), when on: PUT and POST pass through its hook after resolving. */
  private readonly uploads: Uploads | null;

  constructor(
    private readonly config: Config,
    private readonly resolver: Resolver,
    private readonly answerError: ErrorEdge,
    private readonly health: HealthCheck | null = null,
    private readonly liveReload: LiveReload | null = null,
  ) {
    this.authenticate = config.access.users ? createAuthenticator(config.access.users) : null;
    this.lookup = new Lookup(config, resolver, config.urlRules, config.lookup);
    this.uploads = config.upload ? new Uploads(config) : null;
  }

  /**
   * Answer a request. Returns undefined when it was answered synchronously
   * (the hot path: a cached file or 404 costs no promise), else a promise of
   * the answer. `next` (middleware) takes what this server does not answer.
   */
  handle(ctx: RequestContext, next?: Next): void | Promise<void> {
    const { req, res } = ctx;
    const base = this.config.basePath === '' ? null : belowBasePath(this.config.basePath, req.url ?? '/');
    if (base?.kind === 'inside') ctx.url = base.url;
    // Every response, a refused request's included, carries the configured and cross-origin headers (response-headers.ts).
    this.config.responseHeaders?.install(req, res, ctx.url);
    checkRequest(req);
    // The health check (health.ts) comes before the Host check: a kubelet probes by pod IP.
    if ((base === null || base.kind === 'inside') && this.health?.answer(ctx)) return;
    checkHost(this.config.access, req, ctx.client.host);
    if (base?.kind === 'outside') throw new HttpError(404, { logMessage: `outside the base path ${this.config.basePath}` });
    if (base?.kind === 'slash') return answerRedirect(res, base.location, req.method ?? 'GET');
    // Built-in endpoints that need no credentials answer here, before
    // authentication, one line each, reading `ctx.url` (below --base-path),
    // never `req.url`: live reload (live-reload/endpoint.ts), CORS preflights
    // (cors.ts). `OPTIONS *` is not one of them: it names the server, so it
    // resolves (the `server` target) behind authentication, as it always has.
    if (this.liveReload?.answer(ctx)) return;
    if (isPreflight(req)) return this.preflight(ctx).then((answered) => (answered ? undefined : this.authenticated(ctx, next)));
    return this.authenticated(ctx, next);
  }

  /** Authentication, when configured, then the rest. */
  private authenticated(ctx: RequestContext, next: Next | undefined): void | Promise<void> {
    if (this.authenticate === null) return this.resolveAndDispatch(ctx, next);
    return this.authenticate(ctx.req).then((user) => {
      ctx.remoteUser = user;
      return this.resolveAndDispatch(ctx, next);
    });
  }

  /**
   * A CORS preflight (cors.ts): answered here from the target's Allow set,
   * found without running anything, unless --scripts-answer-preflight hands
   * the preflights of scripts and routes to them. Resolves whether it was
   * answered.
   */
  private async preflight(ctx: RequestContext): Promise<boolean> {
    const { req, res } = ctx;
    const policy = this.config.crossOrigin;
    // A refused origin is refused before anything is looked up.
    if (!policy.scriptsAnswerPreflight) refuseUnlessAllowed(policy, req.headers.origin!);
    const target = await this.preflightTarget(ctx);
    if (policy.scriptsAnswerPreflight && target?.kind === 'script') return false;
    answerPreflight(req, res, policy, allowedMethods(this.config, ctx.url, target));
    return true;
  }

  /** What a preflight's actual request would reach (null: a redirect, or nothing), without running it. */
  private async preflightTarget(ctx: RequestContext): Promise<LookupTarget | null> {
    const method = ctx.req.headers['access-control-request-method']!;
    if (this.config.urlRules?.redirectFor(ctx.url, method, this.exempt)) return null;
    try {
      return await this.lookup.resolve(ctx.url, method, ctx.req);
    } catch (err) {
      if (err instanceof HttpError && err.status < 500) return null;
      throw err;
    }
  }

  /** The steps after authentication: the cross-origin check, redirect rules, resolve (with the lookup's aliases), dispatch. */
  private resolveAndDispatch(ctx: RequestContext, next: Next | undefined): void | Promise<void> {
    const { req, res } = ctx;
    // Webhook job status pages: behind the server's authentication (here) and the route's own (in answer()).
    if (ctx.url.startsWith(JOBS_PATH)) return ctx.scripts.jobs.answer(ctx, ctx.url.slice(JOBS_PATH.length).split('?')[0]!);
    checkCrossOrigin(this.config.access, req, ctx.client.host);
    ctx.checked = true;
    // A folder's archive exists only with --archives and listings on; otherwise it is not there at all.
    if (!(this.config.archives && this.config.listing) && asksForArchive(ctx.url)) throw new HttpError(404);
    const method = req.method ?? 'GET';
    const redirect = this.config.urlRules?.hasRedirects ? this.config.urlRules.redirectFor(ctx.url, method, this.exempt) : null;
    if (redirect) return this.answerRuleRedirect(res, redirect, method);
    const target = this.lookup.resolve(ctx.url, method, req);
    if (this.uploads !== null && (method === 'PUT' || method === 'POST')) {
      return this.uploads.take(ctx, method, target, async () => this.dispatch(ctx, await target, method, next));
    }
    if (target instanceof Promise) return target.then((t) => this.dispatch(ctx, t, method, next));
    return this.dispatch(ctx, target, method, next);
  }

  /** A configured redirect (or cleanUrls'): its status, and a local Location below the base path. */
  private answerRuleRedirect(res: ServerResponse, redirect: RedirectOutcome, method: string): void {
    const location = redirect.absolute ? redirect.location : this.config.basePath + redirect.location;
    sendError(res, redirect.status, { headers: { Location: location }, head: method === 'HEAD' });
  }

  /** Each kind of target has one handler. */
  private dispatch(ctx: RequestContext, target: LookupTarget, method: string, next?: Next): void | Promise<void> {
    const { req, res } = ctx;
    switch (target.kind) {
      case 'file':
        this.config.responseHeaders?.servedFile(res, this.urlPathOf(target.file.fsPath));
        return serveFile(req, res, this.config, target.file);
      case 'directory':
        return serveListing(ctx, target);
      case 'script':
        markScriptResponse(res);
        return this.runScript(ctx, target, method, next);
      case 'not-found-page':
        if (next) return next();
        this.config.responseHeaders?.servedFile(res, NOT_FOUND_PAGE);
        return sendNotFoundPage(req, res, target.file, this.config.log !== undefined, this.config.compress);
      case 'redirect':
        return answerRedirect(res, target.location, method);
      case 'other-method':
        return refuseMethod(res, method, next);
      case 'route-method':
        return refuseRouteMethod(res, method, target.allow);
      case 'server':
        return answerOptions(res, STATIC_ALLOW);
      case 'not-found':
        return this.answerError(ctx, NOT_FOUND, next);
    }
  }

  /** The URL path (from the root, percent-encoded) of a file below the root, for header globs. */
  private urlPathOf(fsPath: string): string {
    return encodePath(fsPath.slice(this.config.root.length).split(sep), false);
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
      const found = await this.resolver.resolve(localLocation(this.config.basePath, redirect.location), asGet);
      if (found.kind !== 'script') return this.dispatch(ctx, found, asGet, next);
      redirect = await handleScript(ctx, found.script, found.path, asGet, true);
    }
  }
}

/** The checks of the request's form, before anything answers it; throws the HttpError that answers a failure. */
function checkRequest(req: IncomingMessage): void {
  if (req.httpVersionMajor === 2) checkAuthority(req);
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

/** A listing in the view its query asks for (sort, filter), or with `?download=tar` the folder's archive. */
async function serveListing(ctx: RequestContext, target: Target & { kind: 'directory' }): Promise<void> {
  const { req, res, config } = ctx;
  const view = parseListingQuery(queryOf(ctx.url));
  if (view.download === 'tar' && config.archives) return sendArchive(ctx, target.fsPath, target.segments);
  const json = await wantsJson(req);
  await sendListing(req, res, await target.body(json, view), json, listingCsp(listingExtras(config, target.fsPath)), config.compress);
}

/** A file or directory asked for with another method than GET or HEAD. */
function refuseMethod(res: ServerResponse, method: string, next: Next | undefined): void {
  if (next) return next();
  if (method === 'OPTIONS') return answerOptions(res, STATIC_ALLOW);
  if (REFUSED_ON_STATIC.has(method)) throw new HttpError(405, { headers: { Allow: STATIC_ALLOW } });
  throw new HttpError(501);
}

/**
 * A preflight's `Access-Control-Allow-Methods`: the Allow set of what the
 * request would reach. Command routes own their path for every method (the
 * resolver's `route-method` target carries their Allow list), so routes
 * covering the path give their methods (ANY: every method); a CGI script
 * takes every method; files, directories and misses are GET, HEAD, OPTIONS,
 * plus POST and PUT where uploads are allowed.
 */
function allowedMethods(config: Config, url: string, target: LookupTarget | null): string {
  if (target?.kind === 'route-method') return target.allow;
  const methods = new Set<string>();
  let path;
  try {
    path = parseRequestTarget(url);
  } catch {
    return STATIC_ALLOW;
  }
  for (const route of config.routes) {
    if (!routeMatchesPath(route, path)) continue;
    if (route.method === 'ANY') return SCRIPT_METHODS.join(', ');
    methods.add(route.method);
    if (route.method === 'GET') methods.add('HEAD');
  }
  if (methods.size === 0) {
    if (target?.kind === 'script') return SCRIPT_METHODS.join(', ');
    methods.add('GET').add('HEAD');
    for (const method of uploadMethods(config.upload, path.segments)) methods.add(method);
  }
  methods.add('OPTIONS');
  const order = (m: string): number => (SCRIPT_METHODS.includes(m) ? SCRIPT_METHODS.indexOf(m) : SCRIPT_METHODS.length);
  return [...methods].sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1)).join(', ');
}

/** A method no command route on this path takes: its Allow list for OPTIONS (nothing runs), else 405. */
function refuseRouteMethod(res: ServerResponse, method: string, allow: string): void {
  if (method === 'OPTIONS') return answerOptions(res, allow);
  throw new HttpError(405, { headers: { Allow: allow } });
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
