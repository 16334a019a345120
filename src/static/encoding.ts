/**
 * A file in a content coding (RFC 9110 8.4): a precompressed copy next to it
 * (`app.js.br`, `app.js.gz`, as sirv and http-server serve them), else the
 * file compressed on the fly, once and kept with the file when it is held in
 * memory, streamed through zlib when it is not. serve-file.ts asks
 * {@link findEncodings} once per version of a file and hands a request that
 * negotiated a coding to {@link serveEncoded}; everything else (identity,
 * ranges) stays on its own path.
 *
 * Each coding is its own representation with its own strong entity-tag, so
 * a 304 only ever confirms the representation the client holds
 * (If-None-Match is evaluated against the coding's tag); ranges are only
 * served from the identity representation (serve-file.ts picks identity
 * whenever a Range is present).
 */
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { CODINGS, COMPRESS_MIN_BYTES, createEncoder, encodeBuffer, isCompressibleType, type Coding } from '../compress.js';
import { evaluatePreconditions } from '../conditional.js';
import type { Config } from '../config.js';
import { HttpError } from '../errors.js';
import { sentBodyBytes } from '../log.js';
import { isServerCode } from '../server-code.js';
import type { FileInfo } from './serve-file.js';

/** The file-name suffix of a precompressed copy, and the tag added to the entity-tag of each coding. */
const SUFFIX: Readonly<Record<Coding, string>> = { br: '.br', gzip: '.gz' };
/** Read size for precompressed copies and for files compressed on the fly as they stream (the same as serve-file's). */
const STREAM_CHUNK_BYTES = 256 * 1024;

/** One coding of a file: its validators and where its bytes come from. */
interface CodedForm {
  readonly coding: Coding;
  readonly etag: string;
  readonly lastModified: string;
  readonly mtimeS: number;
  /** A precompressed copy to send as it is; null: compress the file itself. */
  readonly copy: { readonly fsPath: string; readonly size: number } | null;
  headers304?: string[];
}

/** How one version of a file can be sent besides identity; computed once per FileInfo. */
export interface FileEncodings {
  /** The codings offered, in the server's order of preference. */
  readonly offered: readonly Coding[];
  readonly forms: Partial<Record<Coding, CodedForm>>;
  /** Compressed bodies of a file held in memory: a promise while one is being compressed, then the bytes. */
  readonly bodies: Partial<Record<Coding, Buffer | Promise<Buffer>>>;
}

/**
 * How a file can be encoded: the precompressed copies beside it, and
 * compression on the fly when its type is compressible and it is over
 * {@link COMPRESS_MIN_BYTES}. Null when it is sent as it is only. A copy
 * counts only as a regular file that is not a symlink (its real path is then
 * in the file's own directory, which resolve.ts checked) and not server code.
 */
export async function findEncodings(config: Config, file: FileInfo): Promise<FileEncodings | null> {
  const onTheFly = file.size > COMPRESS_MIN_BYTES && isCompressibleType(file.type);
  const forms: Partial<Record<Coding, CodedForm>> = {};
  await Promise.all(
    CODINGS.map(async (coding) => {
      const copy = await findCopy(config, file.fsPath + SUFFIX[coding], coding);
      if (copy) forms[coding] = copy;
      else if (onTheFly) forms[coding] = compressedForm(file, coding);
    }),
  );
  const offered = CODINGS.filter((c) => forms[c] !== undefined);
  return offered.length === 0 ? null : { offered, forms, bodies: {} };
}

async function findCopy(config: Config, fsPath: string, coding: Coding): Promise<CodedForm | null> {
  let stats;
  try {
    stats = await lstat(fsPath);
  } catch {
    return null;
  }
  if (!stats.isFile() || isServerCode(config, fsPath)) return null;
  const mtimeS = Math.floor(stats.mtimeMs / 1000);
  return {
    coding,
    etag: `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}-${tagOf(coding)}"`,
    lastModified: stats.mtime.toUTCString(),
    mtimeS,
    copy: { fsPath, size: stats.size },
  };
}

/** The file compressed by the server: the file's validators, its entity-tag marked with the coding. */
function compressedForm(file: FileInfo, coding: Coding): CodedForm {
  return { coding, etag: `${file.etag.slice(0, -1)}-${tagOf(coding)}"`, lastModified: file.lastModified, mtimeS: file.mtimeS, copy: null };
}

function tagOf(coding: Coding): string {
  return coding === 'br' ? 'br' : 'gz';
}

/**
 * Send a file in a coding the request accepts (there is no Range: those get
 * identity). Preconditions are evaluated against this coding's validators.
 * Content-Length when the encoded length is known (a precompressed copy, a
 * cached body compressed once); chunked when it is compressed as it streams.
 * HEAD gets GET's headers. Throws 412 before anything is written.
 */
export function serveEncoded(req: IncomingMessage, res: ServerResponse, config: Config, file: FileInfo, coding: Coding): void | Promise<void> {
  const encodings = file.encodings!;
  const form = encodings.forms[coding]!;
  const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
  const verdict = evaluatePreconditions(method, req.headers, form);
  if (verdict === 'not-modified') {
    res.writeHead(304, headers304(config, form));
    res.end();
    return;
  }
  if (verdict === 'precondition-failed') throw new HttpError(412);
  const head = [...headers304(config, form), 'Content-Type', file.type, 'Content-Encoding', coding];
  if (form.copy) {
    res.writeHead(200, [...head, 'Content-Length', String(form.copy.size)]);
    return sendStream(req, res, config, form.copy.fsPath, null);
  }
  if (file.body) {
    const body = encodings.bodies[coding];
    if (body !== undefined && !(body instanceof Promise)) return sendBody(req, res, config, head, body);
    return (body ?? compressBody(file, encodings, coding)).then((b) => sendBody(req, res, config, head, b));
  }
  res.writeHead(200, head);
  return sendStream(req, res, config, file.fsPath, coding);
}

/** The validators and cache headers of a coding, for its 304 and at the head of its 200. */
function headers304(config: Config, form: CodedForm): string[] {
  return (form.headers304 ??= [
    'ETag', form.etag,
    'Last-Modified', form.lastModified,
    'Cache-Control', config.cacheControl,
    'X-Content-Type-Options', 'nosniff',
    'Vary', 'Accept-Encoding',
  ]);
}

/**
 * Compress a file held in memory, once: concurrent requests share the
 * promise, and the bytes are kept with the file when its cache accepts them
 * (FileInfo.retain: the cache accounts for them and drops them with the file).
 */
function compressBody(file: FileInfo, encodings: FileEncodings, coding: Coding): Promise<Buffer> {
  const pending = encodeBuffer(coding, file.body!).then(
    (body) => {
      if (file.retain?.(body.length)) encodings.bodies[coding] = body;
      else delete encodings.bodies[coding];
      return body;
    },
    (err: unknown) => {
      delete encodings.bodies[coding];
      throw err;
    },
  );
  encodings.bodies[coding] = pending;
  return pending;
}

function sendBody(req: IncomingMessage, res: ServerResponse, config: Config, head: string[], body: Buffer): void {
  if (res.destroyed) return;
  res.writeHead(200, [...head, 'Content-Length', String(body.length)]);
  const headOnly = req.method === 'HEAD';
  if (config.log) sentBodyBytes.set(res, headOnly ? 0 : body.length);
  res.end(headOnly ? undefined : body);
}

/**
 * Stream a file to the response with backpressure, through an encoder when
 * `coding` is set; the file and the encoder are released on every path, the
 * client leaving included (pipeline destroys them all).
 */
function sendStream(req: IncomingMessage, res: ServerResponse, config: Config, fsPath: string, coding: Coding | null): void {
  if (req.method === 'HEAD') {
    if (config.log) sentBodyBytes.set(res, 0);
    res.end();
    return;
  }
  const file = createReadStream(fsPath, { highWaterMark: STREAM_CHUNK_BYTES });
  const body: Readable = coding === null ? file : createEncoder(coding);
  let sent = 0;
  if (config.log) body.on('data', (chunk: Buffer) => (sent += chunk.length));
  const done = (): void => {
    if (config.log) sentBodyBytes.set(res, sent);
  };
  // An error after the headers went out: pipeline has destroyed the response, which cuts the connection.
  if (coding === null) pipeline(file, res, done);
  else pipeline(file, body as Transform, res, done);
}
