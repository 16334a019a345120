import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { HttpError } from '../errors.js';
import { formatMessage, type ScriptOutcome } from '../log.js';
import type { RequestPath } from '../request-path.js';
import type { ScriptTarget } from '../resolve.js';
import type { RequestContext } from '../context.js';
import { SERVER_SOFTWARE } from '../version.js';
import { encodeBuffer, STREAM_BROTLI_QUALITY } from '../compress.js';
import { NO_BODY, prepareBody, WHOLE_BODY_BYTES, type RequestBody } from './body.js';
import { chooseOutputCoding, encodingSink } from './encode-output.js';
import { buildCgiEnv, type CgiRequest } from './env.js';
import { parseNphHead } from './nph.js';
import { CgiHeadParser, CgiOutputError, checkBodyType, needsType, type CgiHead } from './parse.js';
import type { RunningScript, RunOptions } from './supervise.js';
import type { Route } from '../config.js';
import { admitHook, type Admitted } from '../webhook/admit.js';
import { JOBS_PATH } from '../webhook/jobs.js';
import { takeRouteSlot } from './route-slots.js';

/** A stdout route holds its output this long (or up to ROUTE_COMMIT_BYTES) hoping to learn the exit code before choosing the status. */
export const ROUTE_COMMIT_MS = 250;
export const ROUTE_COMMIT_BYTES = 64 * 1024;

/** A script's answer that is not a response: "answer as if this local path had been asked for" (RFC 3875 6.2.2). */
export interface LocalRedirect {
  readonly location: string;
}

/**
 * Run a script (or command route) for a request, in phases: body, slot,
 * environment, process, then the response (CGI head, NPH, or stdout route).
 * Failures before the first byte are thrown as HttpError; after that, the
 * connection is cut. A local redirect is returned, not followed: resolving
 * the new path is the pipeline's step, not this relay's. `redirected` runs the
 * script as the target of one: a GET without a body.
 */
export async function handleScript(
  ctx: RequestContext,
  target: ScriptTarget,
  path: RequestPath,
  method: string,
  redirected = false,
): Promise<LocalRedirect | undefined> {
  const { req, res, config } = ctx;
  const route = target.route;
  if (route) for (const [name, value] of route.headers) res.setHeader(name, value);
  let admitted: Admitted | null = null;
  if (route?.hook) {
    // A webhook's checks stand between the request and its command; a script's local redirect must not skip them.
    if (redirected) throw new HttpError(502, { logMessage: `local redirect to the webhook route ${route.method} ${route.path} refused` });
    admitted = await admitHook(ctx, route.hook, route.maxBodyBytes, () => sendContinue(req, res));
    if (!admitted) return undefined;
  }
  // A local redirect runs its target as a GET without a body (RFC 3875 6.2.2).
  const body = admitted?.body ?? (redirected ? NO_BODY : await prepareBody(req, route?.maxBodyBytes ?? config.maxBodyBytes, () => sendContinue(req, res)));
  if (route?.hook?.async) {
    try {
      startJob(ctx, route, runOptions(ctx, target, path, body, method, redirected, admitted), body);
    } catch (err) {
      void body.dispose();
      throw err;
    }
    return undefined;
  }
  // The client may leave while the body spools, while queued or while the
  // script starts: check after each wait, so no script outlives its client.
  const gone = (): boolean => req.socket.destroyed || res.destroyed;
  let releaseRoute: (() => void) | undefined;
  try {
    // A small body is read before the script starts and goes with its start.
    const whole = await body.whole(WHOLE_BODY_BYTES);
    // Inside the try: a route that is busy (503) releases the body too (a spooled one is a file).
    releaseRoute = route ? takeRouteSlot(route) : undefined;
    if (gone()) {
      releaseRoute?.();
      return undefined;
    }
    const release = withRouteRelease(await ctx.scripts.acquire(res), releaseRoute);
    let script: RunningScript;
    try {
      if (gone()) throw new HttpError(499, { logMessage: 'client went away before the script started' });
      script = await startScript(ctx, runOptions(ctx, target, path, body, method, redirected, admitted, whole), target);
    } catch (err) {
      release();
      throw err;
    }
    ctx.scripts.track(script, release);
    ctx.scriptDone = script.exited;
    if (gone()) {
      script.stop('client-gone');
      return undefined;
    }
    res.once('close', () => {
      if (!res.writableFinished) script.stop('client-gone');
    });
    if (script.stdin) body.pipeTo(script.stdin, () => script.stop('client-gone'));
    if (target.nph) {
      await relayNph(ctx, script);
      return undefined;
    }
    if (target.route?.mode === 'stdout') {
      await relayStdoutRoute(ctx, script, target.route);
      return undefined;
    }
    return await relayCgi(ctx, script);
  } catch (err) {
    releaseRoute?.();
    throw err;
  } finally {
    void body.dispose();
  }
}

/** Release a route's slot with the server's: when the script exits, or when it never started. */
function withRouteRelease(release: () => void, releaseRoute: (() => void) | undefined): () => void {
  if (!releaseRoute) return release;
  return () => {
    releaseRoute();
    release();
  };
}

/**
 * An async webhook route: the job is queued (503 when the route has too many),
 * and the client gets 202 at once with the job's id, and its status page's
 * address when the route keeps them; the command runs without the client.
 */
function startJob(ctx: RequestContext, route: Route, options: RunOptions, body: RequestBody): void {
  const { req, res } = ctx;
  const id = ctx.scripts.jobs.submit(`${route.method} ${route.path}`, route.hook!, route.maxConcurrent, options, body);
  const location = route.hook!.jobs ? JOBS_PATH + id : undefined;
  const text = JSON.stringify(location ? { id, status: 'queued', url: location } : { id, status: 'queued' }) + '\n';
  res.statusCode = 202;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.setHeader('Cache-Control', 'no-store');
  if (location) res.setHeader('Location', location);
  res.end(req.method === 'HEAD' ? undefined : text);
}

function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  if ((req as IncomingMessage & { expectContinue?: boolean }).expectContinue && !res.headersSent) {
    (req as IncomingMessage & { expectContinue?: boolean }).expectContinue = false;
    res.writeContinue();
  }
}

/** How the script starts: argv (with a webhook's mapped arguments), its environment (with mapped variables), limits. */
function runOptions(
  ctx: RequestContext,
  target: ScriptTarget,
  path: RequestPath,
  body: RequestBody,
  method: string,
  redirected: boolean,
  mapped: Admitted | null,
  stdin?: Buffer | null,
): RunOptions {
  const { req, config } = ctx;
  const requestUri = redirected ? path.decoded + (path.query ? '?' + path.query : '') : (req.url ?? '/');
  const env = buildCgiEnv(cgiRequest(ctx, target, path, body.length, method, requestUri), {
    inherited: ctx.scripts.inherited,
    passAuthorization: config.passAuthorization,
    serverSoftware: SERVER_SOFTWARE,
  });
  const source = scriptSource(target);
  return {
    argv: mapped && mapped.args.length > 0 ? [...target.argv, ...mapped.args] : target.argv,
    env: mapped ? { ...mapped.env, ...env } : env,
    cwd: target.cwd,
    stdin: stdin ?? undefined,
    timeoutMs: target.route?.timeoutMs ?? config.scriptTimeoutMs,
    onStderr: (line) => config.log?.(formatMessage(source, line, config.logFormat)),
    resolution: target.realPathIsPath ? target : undefined,
  };
}

function scriptSource(target: ScriptTarget): string {
  return target.route ? `${target.route.method} ${target.route.path}` : target.scriptName;
}

async function startScript(ctx: RequestContext, options: RunOptions, target: ScriptTarget): Promise<RunningScript> {
  try {
    return await ctx.scripts.start(options, target.route ? 'route' : 'script');
  } catch (err) {
    throw new HttpError(500, { logMessage: `cannot start ${scriptSource(target)}: ${(err as Error).message}` });
  }
}

function cgiRequest(
  ctx: RequestContext,
  target: ScriptTarget,
  path: RequestPath,
  length: number | null,
  method: string,
  requestUri: string,
): CgiRequest {
  const { req, config, remoteUser, client } = ctx;
  return {
    method,
    httpVersion: req.httpVersion,
    rawHeaders: req.rawHeaders,
    remoteAddress: client.address,
    remotePort: client.port,
    localAddress: req.socket.localAddress ?? '',
    localPort: client.serverPort,
    tls: client.scheme === 'https',
    host: client.forwarded ? client.host : undefined,
    requestUri,
    query: path.query,
    contentLength: length,
    scriptName: target.scriptName,
    scriptFilename: target.scriptFilename,
    pathInfo: target.pathInfo,
    documentRoot: config.root,
    remoteUser,
    authType: remoteUser === undefined ? undefined : 'Basic',
  };
}

/** Read stdout until the header block is complete; null when stdout ended first. */
function readHead(stdout: Readable): Promise<{ head: CgiHead; rest: Buffer } | null> {
  const parser = new CgiHeadParser();
  return readUntil(stdout, (chunk) => parser.push(chunk));
}

/**
 * Read a stream chunk by chunk until `take` returns a result (the stream is
 * then paused, the rest left for the relay) or the stream ends (null).
 * What `take` throws rejects the promise.
 */
function readUntil<T>(stdout: Readable, take: (chunk: Buffer) => T | null): Promise<T | null> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      try {
        const done = take(chunk);
        if (done === null) return;
        cleanup();
        stdout.pause();
        resolve(done);
      } catch (err) {
        cleanup();
        reject(err);
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const cleanup = (): void => {
      stdout.off('data', onData);
      stdout.off('end', onEnd);
      stdout.off('close', onEnd);
    };
    stdout.on('data', onData);
    stdout.once('end', onEnd);
    stdout.once('close', onEnd);
    // A stream paused after an earlier read (the head) flows again.
    stdout.resume();
  });
}

/** Status for a script whose output ended before a complete header block. */
function failureBeforeHead(script: RunningScript, outcome: ScriptOutcome): HttpError {
  if (script.stopReason === 'timeout') return new HttpError(504, { logMessage: 'script timed out before its headers' });
  if (script.stopReason === 'client-gone') return new HttpError(499, { logMessage: 'client went away' });
  if (outcome.exit !== 0) return new HttpError(500, { logMessage: 'script failed before its headers' });
  return new HttpError(502, { logMessage: 'script ended without a complete header block' });
}

async function relayCgi(ctx: RequestContext, script: RunningScript): Promise<LocalRedirect | undefined> {
  let parsed: { head: CgiHead; rest: Buffer } | null;
  try {
    parsed = await readHead(script.stdout);
  } catch (err) {
    script.stop('error');
    if (err instanceof CgiOutputError) throw new HttpError(502, { logMessage: `bad script output: ${err.message}` });
    throw err;
  }
  if (!parsed) throw failureBeforeHead(script, await script.exited);
  const { head } = parsed;
  if (head.kind === 'local-redirect') {
    script.stdout.resume();
    return { location: head.location };
  }
  // A head without Content-Type stands only if no body follows (parse.ts checkBodyType): wait for the first body byte or the end.
  const rest = needsType(head) ? await untypedBody(script, head, parsed.rest) : parsed.rest;
  const { res } = ctx;
  res.statusCode = head.status;
  // HTTP/2 has no reason phrase (RFC 9113 8.3.2).
  if (head.reason && ctx.req.httpVersionMajor < 2) res.statusMessage = head.reason;
  let declared: number | null = null;
  try {
    for (const [name, value] of head.headers) {
      if (name.toLowerCase() === 'content-length') declared = Number(value);
      res.appendHeader(name, value);
    }
  } catch (err) {
    script.stop('error');
    throw new HttpError(502, { logMessage: `bad script header: ${(err as Error).message}` });
  }
  // Browsers hold back a sniffable body (Chromium: text/plain until 1 KiB or the end), so a streamed answer would not stream; as for files.
  if (!res.hasHeader('x-content-type-options')) res.setHeader('X-Content-Type-Options', 'nosniff');
  if (rest === null) {
    endEmpty(ctx, declared);
    return undefined;
  }
  const coding = chooseOutputCoding(ctx, declared);
  await relayBody(ctx, script, rest, declared, false, coding === null || ctx.req.method === 'HEAD' ? null : encodingSink(ctx, coding));
  return undefined;
}

/**
 * The body after a head without Content-Type: null when the output ended
 * with none (the head is the whole answer), else a 502 thrown at its first
 * byte. Nothing is held back: the wait ends at the first byte or at the end.
 */
async function untypedBody(script: RunningScript, head: CgiHead, rest: Buffer): Promise<null> {
  const first = rest.length > 0 ? rest : await firstChunk(script.stdout);
  // Stopped while nothing was sent: the status can still say so.
  if (first === null && script.stopReason === 'timeout') throw new HttpError(504, { logMessage: 'script timed out after a header block without Content-Type' });
  if (first === null && script.stopReason === 'client-gone') throw new HttpError(499, { logMessage: 'client went away' });
  try {
    checkBodyType(head, first?.length ?? 0);
  } catch (err) {
    script.stop('error');
    throw new HttpError(502, { logMessage: `bad script output: ${(err as Error).message}` });
  }
  return null;
}

/** The next non-empty chunk of a paused stream, or null at its end. */
function firstChunk(stdout: Readable): Promise<Buffer | null> {
  return readUntil(stdout, (chunk) => (chunk.length > 0 ? chunk : null));
}

/** A response whose body is empty: complete, unless it declared a length it never sent (then the framing is broken: cut). */
function endEmpty(ctx: RequestContext, declared: number | null): void {
  ctx.bytes = 0;
  if (declared !== null && declared > 0 && ctx.req.method !== 'HEAD') ctx.res.destroy();
  else ctx.res.end();
}

/**
 * Copy the body with backpressure (stdout pauses while the client is slow).
 * HEAD gets no body (RFC 3875 4.3.3). A declared Content-Length is enforced:
 * extra bytes are cut, and a short body closes the connection, since the
 * framing can no longer be honoured.
 */
function relayBody(
  ctx: RequestContext,
  script: RunningScript,
  first: Buffer,
  declared: number | null,
  endOnlyOnSuccess = false,
  encoder: Writable | null = null,
): Promise<void> {
  const { req, res } = ctx;
  const stdout = script.stdout;
  // The body goes to the response, or through an encoder into it (encode-output.ts).
  const out: Writable = encoder ?? res;
  if (req.method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304) {
    stdout.resume();
    res.end();
    return Promise.resolve();
  }
  ctx.bytes = 0;
  return new Promise((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      stdout.off('data', write);
      const short = declared !== null && (ctx.bytes ?? 0) < declared;
      if (short || script.stopReason === 'timeout' || script.stopReason === 'error') res.destroy();
      else if (!endOnlyOnSuccess) out.end();
      else {
        // The status (200) promised success: a failure now must not look like a complete answer.
        void script.exited.then((o) => {
          if (o.exit === 0 && script.stopReason === null) out.end();
          else res.destroy();
          resolve();
        });
        return;
      }
      resolve();
    };
    const write = (chunk: Buffer): void => {
      let piece = chunk;
      if (declared !== null && ctx.bytes! + piece.length > declared) piece = piece.subarray(0, declared - ctx.bytes!);
      ctx.bytes! += piece.length;
      if (piece.length > 0 && !out.write(piece)) stdout.pause();
      if (declared !== null && ctx.bytes === declared) {
        stdout.resume();
        finish();
      }
    };
    out.on('drain', () => stdout.resume());
    res.once('close', finish);
    stdout.once('end', finish);
    stdout.once('close', finish);
    if (first.length > 0) write(first);
    if (!finished) {
      stdout.on('data', write);
      stdout.resume();
    }
  });
}

/**
 * Non-parsed-header script: its output is the whole HTTP response, passed
 * through untouched on the raw socket; the connection closes after it since
 * the server cannot know the framing.
 */
function relayNph(ctx: RequestContext, script: RunningScript): Promise<void> {
  if (ctx.req.httpVersionMajor === 2) return relayNphOverHttp2(ctx, script);
  const { res } = ctx;
  const socket = res.socket;
  if (!socket) {
    script.stop('client-gone');
    return Promise.resolve();
  }
  res.shouldKeepAlive = false;
  ctx.bytes = 0;
  let first = true;
  return new Promise((resolve) => {
    script.stdout.on('data', (chunk: Buffer) => {
      if (first) {
        first = false;
        const m = /^HTTP\/\d\.\d (\d{3})/.exec(chunk.subarray(0, 16).toString('latin1'));
        res.statusCode = m ? Number(m[1]) : 502;
      }
      ctx.bytes! += chunk.length;
    });
    script.stdout.pipe(socket, { end: false });
    script.stdout.once('end', () => {
      socket.end();
      resolve();
    });
    socket.once('close', () => resolve());
  });
}

/**
 * An NPH script over HTTP/2: its status line and headers become the
 * response's (src/cgi/nph.ts), and its body is relayed like any script's.
 */
async function relayNphOverHttp2(ctx: RequestContext, script: RunningScript): Promise<void> {
  // The output so far, until it holds the whole status line and header block.
  let seen: Buffer = Buffer.alloc(0);
  const take = (chunk: Buffer): ReturnType<typeof parseNphHead> => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    return parseNphHead(seen);
  };
  const parsed = await readUntil(script.stdout, take).catch((err: unknown) => {
    script.stop('error');
    throw new HttpError(502, { logMessage: `bad NPH output: ${(err as Error).message}` });
  });
  if (!parsed) throw failureBeforeHead(script, await script.exited);
  const { res } = ctx;
  res.statusCode = parsed.head.status;
  for (const [name, value] of parsed.head.headers) res.appendHeader(name, value);
  await relayBody(ctx, script, parsed.rest, parsed.head.contentLength);
}

/**
 * A command route in stdout mode: stdout is the body. The status depends on
 * the exit code (200 on 0, else 500 with stderr logged), so output is held
 * briefly in case the command finishes; past ROUTE_COMMIT_MS or
 * ROUTE_COMMIT_BYTES it is streamed with 200, and a later failure cuts the
 * connection so the client never takes a partial answer for a whole one.
 */
async function relayStdoutRoute(ctx: RequestContext, script: RunningScript, route: Route): Promise<void> {
  const { res } = ctx;
  const held = await holdOutput(script);
  const contentType = route.contentType;
  if (held.exited) {
    const outcome = await script.exited;
    if (script.stopReason === 'timeout') throw new HttpError(504, { logMessage: 'command timed out' });
    if (outcome.exit !== 0) throw new HttpError(route.failureStatus, { logMessage: `command failed (${outcome.signal ?? 'exit ' + outcome.exit})`, headers: Object.fromEntries(route.headers) });
    let body: Buffer = Buffer.concat(held.chunks);
    res.statusCode = route.successStatus;
    res.setHeader('Content-Type', contentType);
    if (!res.hasHeader('x-content-type-options')) res.setHeader('X-Content-Type-Options', 'nosniff');
    const coding = chooseOutputCoding(ctx, body.length);
    // Held whole, so encoded whole: the encoded length is known and sent.
    if (coding !== null) body = await encodeBuffer(coding, body, STREAM_BROTLI_QUALITY);
    res.setHeader('Content-Length', body.length);
    ctx.bytes = ctx.req.method === 'HEAD' ? 0 : body.length;
    res.end(ctx.req.method === 'HEAD' ? undefined : body);
    return;
  }
  res.statusCode = route.successStatus;
  res.setHeader('Content-Type', contentType);
  if (!res.hasHeader('x-content-type-options')) res.setHeader('X-Content-Type-Options', 'nosniff');
  const coding = chooseOutputCoding(ctx, null);
  await relayBody(ctx, script, Buffer.concat(held.chunks), null, true, coding === null || ctx.req.method === 'HEAD' ? null : encodingSink(ctx, coding));
}

/** Collect stdout until the process ends (exited: true) or the commit threshold passes (exited: false). */
function holdOutput(script: RunningScript): Promise<{ exited: boolean; chunks: Buffer[] }> {
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const done = (exited: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      script.stdout.off('data', onData);
      script.stdout.pause();
      resolve({ exited, chunks });
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= ROUTE_COMMIT_BYTES) done(false);
      else timer ??= setTimeout(() => done(false), ROUTE_COMMIT_MS);
    };
    script.stdout.on('data', onData);
    let ended = false;
    const onEnd = (): void => {
      if (ended) return;
      ended = true;
      void script.exited.then(() => done(true));
    };
    script.stdout.once('end', onEnd);
    script.stdout.once('close', onEnd);
    script.stdout.resume();
  });
}
