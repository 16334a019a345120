/**
 * Script and route output in a content coding. The script's header block is
 * on the response when the relay asks {@link chooseOutputCoding}; the body
 * then goes through {@link encodingSink}, which flushes the encoder after
 * every chunk the script wrote, so a script that streams (server-sent lines,
 * progress) still reaches the client chunk by chunk. Request bodies are
 * never decoded: a script gets what the client sent, with
 * HTTP_CONTENT_ENCODING.
 */
import { Writable } from 'node:stream';
import type { Transform } from 'node:stream';
import type { Zlib } from 'node:zlib';
import { CODINGS, COMPRESS_MIN_BYTES, chooseCoding, createEncoder, flushKind, isCompressibleType, varyWithAcceptEncoding, weakenEtag, type Coding } from '../compress.js';
import type { RequestContext } from '../context.js';

/** `Cache-Control: no-transform` (RFC 9111 5.2.2.6): the script forbids changing its bytes. */
const NO_TRANSFORM = /(?:^|,)\s*no-transform\s*(?:,|$)/i;

/**
 * Should this response be encoded, and in which coding? Only when the
 * status has a whole body (not 204, 206, 304, nor 1xx), the script chose no
 * Content-Encoding and no `Cache-Control: no-transform`, its type is
 * compressible and its declared length (if any) is over 1 KiB. Such a
 * response varies with Accept-Encoding, so it gets `Vary: Accept-Encoding`
 * whatever the client accepts. When a coding is chosen, the headers are
 * made true for it: Content-Encoding set, the script's Content-Length
 * dropped (the encoded length is unknown until the end), its ETag made weak
 * (the content is the same, the bytes are not). HEAD gets the same headers
 * as GET. Null: send the output as it is.
 */
export function chooseOutputCoding(ctx: RequestContext, declaredLength: number | null): Coding | null {
  const { req, res, config } = ctx;
  if (!config.compress) return null;
  const status = res.statusCode;
  if (status < 200 || status === 204 || status === 206 || status === 304) return null;
  if (res.hasHeader('content-encoding')) return null;
  const type = res.getHeader('content-type');
  if (typeof type !== 'string' || !isCompressibleType(type)) return null;
  if (NO_TRANSFORM.test(String(res.getHeader('cache-control') ?? ''))) return null;
  if (declaredLength !== null && declaredLength <= COMPRESS_MIN_BYTES) return null;
  const vary = res.getHeader('vary');
  res.setHeader('Vary', varyWithAcceptEncoding(Array.isArray(vary) ? vary.join(', ') : vary === undefined ? undefined : String(vary)));
  const coding = chooseCoding(req.headers['accept-encoding'], CODINGS);
  if (coding === null) return null;
  res.setHeader('Content-Encoding', coding);
  res.removeHeader('Content-Length');
  const etag = res.getHeader('etag');
  if (typeof etag === 'string') res.setHeader('ETag', weakenEtag(etag));
  return coding;
}

/**
 * The writable the script's body goes to: an encoder piped into the
 * response, flushed after each chunk. Backpressure holds end to end (a slow
 * client fills the encoder's output, which delays the flush's callback,
 * which fills this stream, whose `false` pauses the script's stdout). The
 * access log counts the encoded bytes (ctx.bytes, set when the encoder ends).
 */
export function encodingSink(ctx: RequestContext, coding: Coding): Writable {
  const { res } = ctx;
  const encoder = createEncoder(coding);
  let sent = 0;
  encoder.on('data', (chunk: Buffer) => (sent += chunk.length));
  encoder.once('end', () => (ctx.bytes = sent));
  encoder.pipe(res);
  const sink = new FlushingEncoder(encoder, flushKind(coding));
  sink.on('error', () => res.destroy());
  res.once('close', () => sink.destroy());
  encoder.once('error', () => res.destroy());
  return sink;
}

/** Each chunk written is compressed and flushed before the next is taken. */
class FlushingEncoder extends Writable {
  constructor(
    private readonly encoder: Transform,
    private readonly kind: number,
  ) {
    super({ highWaterMark: 16 * 1024 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.encoder.write(chunk);
    (this.encoder as Transform & Zlib).flush(this.kind, () => callback());
  }

  /** Done once the encoder has ended (its last bytes are out): finishing earlier would auto-destroy it first. */
  override _final(callback: (err?: Error | null) => void): void {
    this.encoder.once('end', () => callback());
    this.encoder.end();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.encoder.destroy();
    callback(err);
  }
}
