import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { HttpError } from '../errors.js';
import { hasUnsizedHttp2Body } from '../transport/http2-request.js';

/** Chunked bodies up to this size are spooled in memory, larger ones to a temporary file. */
export const SPOOL_MEMORY_BYTES = 1024 * 1024;
/**
 * A body up to this size is read whole before its script starts and goes
 * with the start (RunOptions.stdin); a larger one streams into stdin while
 * the script runs. As nginx and lighttpd buffer request bodies by default.
 */
export const WHOLE_BODY_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** A request body ready to be fed to a script. */
export interface RequestBody {
  /** CONTENT_LENGTH, or null when the request has no body. */
  readonly length: number | null;
  /**
   * The whole body when it is at most `limit` bytes, read first if it has
   * not all arrived; null when it is larger (it streams with pipeTo). Rejects
   * with 499 when the client leaves before all of it came.
   */
  whole(limit: number): Promise<Buffer | null>;
  /** Stream the body into the script's stdin (with backpressure), then close it. */
  pipeTo(stdin: Writable, onClientGone: () => void): void;
  /** Release what the body holds (temporary file). */
  dispose(): Promise<void>;
}

/** 413 for a body over the limit; the connection closes, since the rest of the body is not read. */
export const tooLarge = (max: number): HttpError =>
  new HttpError(413, {
    publicMessage: `The request body is larger than the limit of ${max} bytes.`,
    headers: { Connection: 'close' },
  });

/**
 * Decide how the body reaches the script. With Content-Length it streams
 * straight through (node:http delivers exactly that many bytes); a chunked
 * body is spooled first so that CONTENT_LENGTH can be set, as RFC 3875 4.2
 * requires. Either way a body over the limit is 413 before the script starts.
 */
export async function prepareBody(req: IncomingMessage, maxBytes: number, sendContinue: () => void): Promise<RequestBody> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const length = Number(declared);
    if (length > maxBytes) throw tooLarge(maxBytes);
    return streamingBody(req, length, sendContinue);
  }
  if (req.headers['transfer-encoding'] !== undefined || hasUnsizedHttp2Body(req)) {
    sendContinue();
    return spoolBody(req, maxBytes);
  }
  return NO_BODY;
}

/** A request without a body: stdin is closed at once and CONTENT_LENGTH is unset. */
export const NO_BODY: RequestBody = { length: null, whole: async () => EMPTY, pipeTo: (stdin) => stdin.end(), dispose: async () => {} };

function streamingBody(req: IncomingMessage, length: number, sendContinue: () => void): RequestBody {
  return {
    length,
    async whole(limit) {
      if (length > limit) return null;
      if (length === 0) return EMPTY;
      sendContinue();
      return readAll(req, length);
    },
    pipeTo(stdin, onClientGone) {
      if (length === 0) {
        stdin.end();
        return;
      }
      sendContinue();
      feed(req, stdin, onClientGone);
    },
    dispose: async () => {},
  };
}

/** All `length` bytes of a body (node:http delivers exactly that many); 499 when the client leaves first. */
function readAll(req: IncomingMessage, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length));
    });
    const gone = (): void => {
      if (!ended) reject(new HttpError(499, { logMessage: 'client went away while sending the body' }));
    };
    req.once('error', gone);
    req.once('close', gone);
  });
}

/** Pipe with backpressure; when the script stops reading (EPIPE), keep draining the request so the connection stays usable. */
function feed(source: Readable, stdin: Writable, onClientGone: () => void): void {
  source.pipe(stdin);
  const drain = (): void => {
    source.unpipe(stdin);
    source.resume();
  };
  stdin.once('error', drain);
  // stdin destroyed without an error (the script exited; a warm run's socket
  // closes): pipe() only unpipes, which would leave the source paused and a
  // spooled body's file open.
  stdin.once('close', () => {
    if (!source.readableEnded) drain();
  });
  source.once('aborted', onClientGone);
  source.once('error', onClientGone);
}

/**
 * Read the whole body before the script starts: in memory up to
 * SPOOL_MEMORY_BYTES, then in a 0600 temporary file. `observe` sees every
 * chunk as it arrives (a webhook's signature check hashes the raw bytes).
 * Over `maxBytes` is 413.
 */
export async function spoolBody(req: IncomingMessage, maxBytes: number, observe?: (chunk: Buffer) => void): Promise<RequestBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  let file: { dir: string; path: string; handle: Awaited<ReturnType<typeof open>> } | null = null;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge(maxBytes);
      observe?.(chunk);
      if (file) {
        await file.handle.write(chunk);
      } else if (size > SPOOL_MEMORY_BYTES) {
        const dir = await mkdtemp(join(tmpdir(), 'scriptserve-'));
        file = { dir, path: join(dir, 'body'), handle: await open(join(dir, 'body'), 'wx', 0o600) };
        for (const c of chunks) await file.handle.write(c);
        await file.handle.write(chunk);
        chunks.length = 0;
      } else {
        chunks.push(chunk);
      }
    }
  } catch (err) {
    if (file) await cleanup(file);
    throw err;
  } finally {
    await file?.handle.close();
  }
  const spooled = file;
  return {
    length: size,
    whole: async (limit) => (spooled || size > limit ? null : Buffer.concat(chunks, size)),
    pipeTo(stdin, onClientGone) {
      if (!spooled) {
        stdin.end(Buffer.concat(chunks, size));
        return;
      }
      feed(createReadStream(spooled.path), stdin, onClientGone);
    },
    dispose: async () => {
      if (spooled) await cleanup(spooled);
    },
  };
}

async function cleanup(file: { dir: string }): Promise<void> {
  await rm(file.dir, { recursive: true, force: true }).catch(() => {});
}
