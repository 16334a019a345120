import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { HttpError } from '../errors.js';
import { formatMessage, type ScriptOutcome } from '../log.js';
import type { RequestPath } from '../request-path.js';
import type { ScriptTarget } from '../resolve.js';
import type { RequestContext } from '../context.js';
import { SERVER_SOFTWARE } from '../version.js';
import { encodeBuffer, STREAM_BROTLI_QUALITY } from '../compress.js';
import { NO_BODY, prepareBody, type RequestBody } from './body.js';
import { chooseOutputCoding, encodingSink } from './encode-output.js';
import { buildCgiEnv, type CgiRequest } from './env.js';
import { CgiHeadParser, CgiOutputError, type CgiHead } from './parse.js';
import type { RunningScript } from './supervise.js';

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
  // A local redirect runs its target as a GET without a body (RFC 3875 6.2.2).
  const body = redirected ? NO_BODY : await prepareBody(req, config.maxBodyBytes, () => sendContinue(req, res));
  // The client may leave while the body spools, while queued or while the
  // script starts: check after each wait, so no script outlives its client.
  const gone = (): boolean => req.socket.destroyed || res.destroyed;
  try {
    if (gone()) return undefined;
    const release = await ctx.scripts.acquire(res);
    let script: RunningScript;
    try {
      if (gone()) throw new HttpError(499, { logMessage: 'client went away before the script started' });
      script = await startScript(ctx, target, path, body, method, redirected);
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
    body.pipeTo(script.stdin, () => script.stop('client-gone'));
    if (target.nph) {
      await relayNph(ctx, script);
      return undefined;
    }
    if (target.route?.mode === 'stdout') {
      await relayStdoutRoute(ctx, script, target.route.contentType);
      return undefined;
    }
    return await relayCgi(ctx, script);
  } finally {
    void body.dispose();
  }
}

function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  if ((req as IncomingMessage & { expectContinue?: boolean }).expectContinue && !res.headersSent) {
    (req as IncomingMessage & { expectContinue?: boolean }).expectContinue = false;
    res.writeContinue();
  }
}

async function startScript(
  ctx: RequestContext,
  target: ScriptTarget,
  path: RequestPath,
  body: RequestBody,
  method: string,
  redirected: boolean,
): Promise<RunningScript> {
  const { req, config } = ctx;
  const requestUri = redirected ? path.decoded + (path.query ? '?' + path.query : '') : (req.url ?? '/');
  const env = buildCgiEnv(cgiRequest(ctx, target, path, body.length, method, requestUri), {
    inherited: ctx.scripts.inherited,
    passAuthorization: config.passAuthorization,
    serverSoftware: SERVER_SOFTWARE,
  });
  const source = target.route ? `${target.route.method} ${target.route.path}` : target.scriptName;
  try {
    return await ctx.scripts.start(
      {
        argv: target.argv,
        env,
        cwd: target.cwd,
        timeoutMs: target.route?.timeoutMs ?? config.scriptTimeoutMs,
        onStderr: (line) => config.log?.(formatMessage(source, line, config.logFormat)),
        resolution: target.realPathIsPath ? target : undefined,
      },
      target.route ? 'route' : 'script',
    );
  } catch (err) {
    throw new HttpError(500, { logMessage: `cannot start ${source}: ${(err as Error).message}` });
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
  const { req, config, remoteUser } = ctx;
  const socket = req.socket;
  return {
    method,
    httpVersion: req.httpVersion,
    rawHeaders: req.rawHeaders,
    remoteAddress: socket.remoteAddress ?? '',
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? '',
    localPort: socket.localPort ?? 0,
    tls: (socket as TLSSocket).encrypted === true,
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
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      try {
        const done = parser.push(chunk);
        if (!done) return;
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
  const { head, rest } = parsed;
  if (head.kind === 'local-redirect') {
    script.stdout.resume();
    return { location: head.location };
  }
  const { res } = ctx;
  res.statusCode = head.status;
  if (head.reason) res.statusMessage = head.reason;
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
  const coding = chooseOutputCoding(ctx, declared);
  await relayBody(ctx, script, rest, declared, false, coding === null || ctx.req.method === 'HEAD' ? null : encodingSink(ctx, coding));
  return undefined;
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
 * A command route in stdout mode: stdout is the body. The status depends on
 * the exit code (200 on 0, else 500 with stderr logged), so output is held
 * briefly in case the command finishes; past ROUTE_COMMIT_MS or
 * ROUTE_COMMIT_BYTES it is streamed with 200, and a later failure cuts the
 * connection so the client never takes a partial answer for a whole one.
 */
async function relayStdoutRoute(ctx: RequestContext, script: RunningScript, contentType: string): Promise<void> {
  const { res } = ctx;
  const held = await holdOutput(script);
  if (held.exited) {
    const outcome = await script.exited;
    if (script.stopReason === 'timeout') throw new HttpError(504, { logMessage: 'command timed out' });
    if (outcome.exit !== 0) throw new HttpError(500, { logMessage: `command failed (${outcome.signal ?? 'exit ' + outcome.exit})` });
    let body: Buffer = Buffer.concat(held.chunks);
    res.statusCode = 200;
    res.setHeader('Content-Type', contentType);
    const coding = chooseOutputCoding(ctx, body.length);
    // Held whole, so encoded whole: the encoded length is known and sent.
    if (coding !== null) body = await encodeBuffer(coding, body, STREAM_BROTLI_QUALITY);
    res.setHeader('Content-Length', body.length);
    ctx.bytes = ctx.req.method === 'HEAD' ? 0 : body.length;
    res.end(ctx.req.method === 'HEAD' ? undefined : body);
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', contentType);
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
  });
}
