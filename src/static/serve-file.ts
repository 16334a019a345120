import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { pipeline } from 'node:stream';
import { evaluatePreconditions } from '../conditional.js';
import type { Config } from '../config.js';
import { chooseCoding } from '../compress.js';
import { HttpError } from '../errors.js';
import { isInjectable, serveInjectedPage } from '../live-reload/page.js';
import { sentBodyBytes } from '../log.js';
import { findEncodings, serveEncoded, type FileEncodings } from './encoding.js';
import { resolveRanges, type ByteRange } from './range.js';

/**
 * Read size for files streamed from disk: 256 KiB moved 25–30 % more bytes per
 * second than the 64 KiB default on a 10 MiB file (bench/NOTES.md), and costs
 * 256 KiB per connection at most.
 */
const STREAM_CHUNK_BYTES = 256 * 1024;
const DEFAULT_TYPE = 'application/octet-stream';
const typeCache = new Map<string, string>();
/**
 * mime-types, loaded when the first file is served: building its tables from
 * mime-db takes about 9 ms, which a server that starts with a listing, a
 * script or a redirect need not wait for (bench/NOTES.md, start-up).
 */
let mimeTypes: typeof import('mime-types') | undefined;

/** Content-Type for a file name, from mime-types, with `charset=utf-8` on text types. */
export function typeFor(fsPath: string): string {
  const ext = extname(fsPath).toLowerCase();
  let type = typeCache.get(ext);
  if (type === undefined) {
    mimeTypes ??= createRequire(import.meta.url)('mime-types') as typeof import('mime-types');
    type = (ext && mimeTypes.contentType(ext)) || DEFAULT_TYPE;
    typeCache.set(ext, type);
  }
  return type;
}

/**
 * A strong validator from size and modification time, the way nginx builds
 * one. Strong, so that If-Range (which needs strong comparison, RFC 9110
 * 13.1.5) can succeed; a file rewritten within the same millisecond to the same
 * size would keep its ETag, which is the accepted trade-off of every
 * stat-based ETag.
 */
export function etagFor(stats: Stats): string {
  return `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
}

/** What serving a file needs, computed once per version of the file (and cached by StaticCache). */
export interface FileInfo {
  readonly fsPath: string;
  readonly size: number;
  /** Modification time in whole seconds, as Last-Modified can express it. */
  readonly mtimeS: number;
  readonly etag: string;
  readonly lastModified: string;
  readonly type: string;
  /** The whole content when the file is small enough to be held in memory; null to stream from disk. */
  readonly body: Buffer | null;
  /** The headers of a plain 200, built on first use: a flat [name, value, …] list for writeHead. */
  headers200?: string[];
  /** The same for a 304 (the 200's validators and cache headers, no Content-*). */
  headers304?: string[];
  /** Its content codings (static/encoding.ts), looked for on first use when compression is on; null: identity only. */
  encodings?: FileEncodings | null;
  /**
   * Set by the cache that holds this file: account `bytes` more memory to it
   * (its compressed bodies). False when the file is no longer cached: keep nothing.
   */
  retain?: (bytes: number) => boolean;
}

/** FileInfo from a stat result; `body` when the content is already in hand. */
export function fileInfo(fsPath: string, stats: Stats, body: Buffer | null = null): FileInfo {
  return {
    fsPath,
    size: stats.size,
    mtimeS: Math.floor(stats.mtimeMs / 1000),
    etag: etagFor(stats),
    lastModified: stats.mtime.toUTCString(),
    type: typeFor(fsPath),
    body,
  };
}

/**
 * Serve one regular file for GET or HEAD: preconditions (one evaluator,
 * conditional.ts), then ranges, then the bytes, from memory or streamed from
 * disk. HEAD gets exactly GET's headers. A request that reached a file through
 * a script's local redirect is answered as a GET (RFC 3875 6.2.2). Throws
 * HttpError (412, 416) before anything is written.
 */
export function serveFile(req: IncomingMessage, res: ServerResponse, config: Config, file: FileInfo): void | Promise<void> {
  // Live reload answers HTML pages itself: another representation, with its own validators, no ranges, no precompressed copy.
  if (config.liveReload && isInjectable(file)) return serveInjectedPage(req, res, config, file);
  // Compression (static/encoding.ts): a file with no coding (the 1 KiB hot path) costs this one test once its codings are known.
  if (config.compress && file.encodings !== null) {
    if (file.encodings === undefined) {
      return findEncodings(config, file).then((found) => {
        file.encodings = found;
        return serveFile(req, res, config, file);
      });
    }
    // Ranges are served from the identity representation only.
    const coding = req.headers.range === undefined ? chooseCoding(req.headers['accept-encoding'], file.encodings.offered) : null;
    if (coding !== null) return serveEncoded(req, res, config, file, coding);
  }
  const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
  const verdict = evaluatePreconditions(method, req.headers, file);
  if (verdict === 'not-modified') {
    res.writeHead(304, headers304(config, file));
    res.end();
    return;
  }
  if (verdict === 'precondition-failed') throw new HttpError(412);
  const range = verdict === 'send' ? req.headers.range : undefined;
  if (range !== undefined) {
    const ranges = resolveRanges(range, file.size);
    if (ranges.kind === 'unsatisfiable') throw new HttpError(416, { headers: { 'Content-Range': `bytes */${file.size}` } });
    if (ranges.kind === 'ranges') return serveRanges(req, res, config, file, ranges.ranges);
  }
  servePlain(req, res, config, file);
}

/** A 304's headers (the validators and cache headers every answer for the file carries), built once per version of the file. */
function headers304(config: Config, file: FileInfo): string[] {
  return (file.headers304 ??= [
    'ETag', file.etag,
    'Last-Modified', file.lastModified,
    'Cache-Control', config.cacheControl,
    'X-Content-Type-Options', 'nosniff',
    // The identity answer of a file that also has a coding varies with Accept-Encoding too.
    ...(file.encodings ? ['Vary', 'Accept-Encoding'] : []),
  ]);
}

/** The common case, a plain 200: every header prebuilt once per version of the file. */
function servePlain(req: IncomingMessage, res: ServerResponse, config: Config, file: FileInfo): void {
  file.headers200 ??= [
    ...headers304(config, file),
    'Accept-Ranges', 'bytes',
    'Content-Type', file.type,
    'Content-Length', String(file.size),
  ];
  res.writeHead(200, file.headers200);
  if (config.log) sentBodyBytes.set(res, req.method === 'HEAD' ? 0 : file.size);
  if (req.method === 'HEAD' || file.size === 0) {
    res.end();
  } else if (file.body) {
    res.end(file.body);
  } else {
    streamFile(res, file.fsPath, 0, file.size - 1, true);
  }
}

/** 206 for satisfiable ranges: one range as a plain body, several as multipart/byteranges. */
function serveRanges(req: IncomingMessage, res: ServerResponse, config: Config, file: FileInfo, ranges: readonly ByteRange[]): void {
  const common = headers304(config, file);
  for (let i = 0; i < common.length; i += 2) res.setHeader(common[i]!, common[i + 1]!);
  res.setHeader('Accept-Ranges', 'bytes');
  if (ranges.length > 1) {
    sendMultipart(req, res, file, ranges);
    return;
  }
  const { start, end } = ranges[0]!;
  res.statusCode = 206;
  res.setHeader('Content-Range', `bytes ${start}-${end}/${file.size}`);
  sendBody(req, res, file, start, end);
}

function sendBody(req: IncomingMessage, res: ServerResponse, file: FileInfo, start: number, end: number): void {
  const length = end - start + 1;
  res.setHeader('Content-Type', file.type);
  res.setHeader('Content-Length', length);
  if (req.method === 'HEAD' || length <= 0) {
    res.end();
    return;
  }
  if (file.body) {
    res.end(start === 0 && end === file.body.length - 1 ? file.body : file.body.subarray(start, end + 1));
    return;
  }
  streamFile(res, file.fsPath, start, end, true);
}

/**
 * Pipe a byte range of a file to the response with backpressure. The file is
 * closed on every path (end, error, client gone: pipeline destroys both).
 */
function streamFile(res: ServerResponse, fsPath: string, start: number, end: number, last: boolean, done?: () => void): void {
  const stream = createReadStream(fsPath, { start, end, highWaterMark: STREAM_CHUNK_BYTES });
  if (!last) {
    stream.on('error', () => res.destroy());
    stream.on('end', () => done?.());
    stream.pipe(res, { end: false });
    res.once('close', () => stream.destroy());
    return;
  }
  pipeline(stream, res, (err) => {
    if (err && !res.headersSent) res.statusCode = 500;
    // An error after headers went out: the socket is already destroyed by pipeline.
  });
}

/** multipart/byteranges (RFC 9110 14.6) with an exact Content-Length. */
function sendMultipart(req: IncomingMessage, res: ServerResponse, file: FileInfo, ranges: readonly ByteRange[]): void {
  // Fixed length, so HEAD and GET of the same ranges announce the same Content-Length.
  const boundary = 'scriptserve-' + randomBytes(12).toString('hex');
  const heads = ranges.map(
    (r, i) =>
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${file.type}\r\nContent-Range: bytes ${r.start}-${r.end}/${file.size}\r\n\r\n`,
  );
  const tail = `\r\n--${boundary}--\r\n`;
  let length = Buffer.byteLength(tail);
  ranges.forEach((r, i) => (length += Buffer.byteLength(heads[i]!) + (r.end - r.start + 1)));
  res.statusCode = 206;
  res.setHeader('Content-Type', `multipart/byteranges; boundary=${boundary}`);
  res.setHeader('Content-Length', length);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const next = (i: number): void => {
    if (res.destroyed) return;
    if (i === ranges.length) {
      res.end(tail);
      return;
    }
    const { start, end } = ranges[i]!;
    res.write(heads[i]!);
    if (file.body) {
      res.write(file.body.subarray(start, end + 1));
      next(i + 1);
      return;
    }
    streamFile(res, file.fsPath, start, end, false, () => next(i + 1));
  };
  next(0);
}
