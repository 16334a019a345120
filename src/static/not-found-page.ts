import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { sentBodyBytes } from '../log.js';
import { chooseCoding, CODINGS, COMPRESS_MIN_BYTES, createEncoder, encodeOnce, isCompressibleType } from '../compress.js';
import type { FileInfo } from './serve-file.js';

/**
 * The root's `404.html` as the answer to a GET or HEAD that found nothing
 * (http-server's convention, issue 17): status 404, the page's own
 * Content-Type, and none of the file's validators or caching headers, which
 * would describe the page, not the missing path. Never a range, never a 304.
 * Compressed as a file would be (compress.ts): a page the cache holds once
 * per coding, a larger one streamed through the encoder.
 */
export async function sendNotFoundPage(req: IncomingMessage, res: ServerResponse, file: FileInfo, log: boolean, compress: boolean): Promise<void> {
  const compressible = compress && file.size > COMPRESS_MIN_BYTES && isCompressibleType(file.type);
  const coding = compressible ? chooseCoding(req.headers['accept-encoding'], CODINGS) : null;
  const encoded = coding && file.body ? await encodeOnce(coding, file.body) : null;
  const head = req.method === 'HEAD';
  const fields = ['Content-Type', file.type, 'Cache-Control', 'no-store', 'X-Content-Type-Options', 'nosniff'];
  if (compressible) fields.push('Vary', 'Accept-Encoding');
  if (coding) fields.push('Content-Encoding', coding);
  // Streamed through the encoder, the length is not known: chunked.
  const length = encoded ? encoded.length : coding ? null : file.size;
  if (length !== null) fields.push('Content-Length', String(length));
  res.writeHead(404, fields);
  if (log && length !== null) sentBodyBytes.set(res, head ? 0 : length);
  if (head || file.size === 0) {
    res.end();
  } else if (encoded) {
    res.end(encoded);
  } else if (file.body && !coding) {
    res.end(file.body);
  } else {
    const source = createReadStream(file.fsPath, { start: 0, end: file.size - 1 });
    const done = (): void => {
      // An error after the head went out: pipeline has destroyed the response, which cuts the connection.
    };
    if (coding) pipeline(source, createEncoder(coding), res, done);
    else pipeline(source, res, done);
  }
}
