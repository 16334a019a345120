/**
 * Content codings (RFC 9110 8.4, 12.5.3): which types are worth compressing,
 * which coding a request accepts, and the zlib encoders. Static files build
 * on it in static/encoding.ts; script output in cgi/encode-output.ts. Node
 * 20's zlib has gzip, deflate and Brotli; deflate is left out (its framing
 * was never agreed on by browsers, RFC 9110 8.4.1.2), zstd does not exist yet.
 */
import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import { brotliCompress, constants, createBrotliCompress, createGzip, gzip, type BrotliOptions, type ZlibOptions } from 'node:zlib';

/** A content coding this server produces. */
export type Coding = 'br' | 'gzip';

/** Bodies this size or smaller are sent as they are: the coding's framing and the CPU cost outweigh the bytes saved. */
export const COMPRESS_MIN_BYTES = 1024;

/** Brotli quality for streams (files streamed from disk, script output): 4 is the usual choice for on-the-fly Brotli, faster than gzip -6 at a better ratio. */
export const STREAM_BROTLI_QUALITY = 4;
/**
 * Brotli quality for bodies compressed once and kept with a cached file: 5
 * took 7 ms for 100 KiB of text here where 11 took 89 ms for 10 % fewer
 * bytes, and the first request for each file waits for it.
 */
export const CACHED_BROTLI_QUALITY = 5;
/** gzip level for every body: zlib's default, the level every peer uses. */
export const GZIP_LEVEL = 6;

/** The codings offered, in the server's order of preference when the client's q-values tie (Brotli is smaller). */
export const CODINGS: readonly Coding[] = ['br', 'gzip'];

const typeVerdicts = new Map<string, boolean>();
const MAX_REMEMBERED = 256;

/**
 * Is a Content-Type worth compressing? Text (`text/*`), JSON, JavaScript,
 * XML and SVG, and WebAssembly. Never `text/event-stream`: an event stream
 * must reach the client event by event, and the browser's EventSource reads
 * it raw. Images, audio, video, archives and fonts are already compressed.
 */
export function isCompressibleType(contentType: string): boolean {
  let verdict = typeVerdicts.get(contentType);
  if (verdict === undefined) {
    verdict = compressibleEssence(contentType.split(';', 1)[0]!.trim().toLowerCase());
    if (typeVerdicts.size >= MAX_REMEMBERED) typeVerdicts.clear();
    typeVerdicts.set(contentType, verdict);
  }
  return verdict;
}

function compressibleEssence(essence: string): boolean {
  if (essence.startsWith('text/')) return essence !== 'text/event-stream';
  if (essence === 'image/svg+xml') return true;
  if (!essence.startsWith('application/')) return false;
  const sub = essence.slice('application/'.length);
  return (
    sub === 'json' || sub === 'javascript' || sub === 'x-javascript' || sub === 'ecmascript' || sub === 'xml' || sub === 'wasm' ||
    sub.endsWith('+json') || sub.endsWith('+xml')
  );
}

type NegotiatorClass = typeof import('negotiator');
/** negotiator 1.x's `encoding` takes a `preferred` order that @types/negotiator (0.6) does not know yet. */
type EncodingWithPreference = (available: string[], options: { preferred: string[] }) => string | undefined;
/** negotiator, loaded on the first request that names an encoding. */
let Negotiator: NegotiatorClass | undefined;
const choices = new Map<string, Coding | null>();

/**
 * The coding to send, among `offered`, by the request's Accept-Encoding and
 * its q-values (negotiator), ties broken by {@link CODINGS}' order; null
 * for identity. No Accept-Encoding means identity: RFC 9110 12.5.3 allows
 * any coding then, but clients that send none (curl, scripts) expect the
 * bytes as they are. When identity is refused too (`identity;q=0`) and
 * nothing offered is accepted, identity is still sent: the representation
 * exists in no other form (the 415/406 alternatives help no client).
 * Answers are remembered per header value, since a client sends the same one
 * on every request.
 */
export function chooseCoding(acceptEncoding: string | undefined, offered: readonly Coding[]): Coding | null {
  if (acceptEncoding === undefined || acceptEncoding === '' || offered.length === 0) return null;
  const key = offered.length === CODINGS.length ? acceptEncoding : offered.join(',') + '\n' + acceptEncoding;
  let choice = choices.get(key);
  if (choice === undefined) {
    Negotiator ??= createRequire(import.meta.url)('negotiator') as NegotiatorClass;
    const negotiator = new Negotiator({ headers: { 'accept-encoding': acceptEncoding } });
    const best = (negotiator.encoding as EncodingWithPreference).call(negotiator, [...offered, 'identity'], {
      preferred: [...CODINGS, 'identity'],
    });
    choice = best === 'br' || best === 'gzip' ? best : null;
    if (choices.size >= MAX_REMEMBERED) choices.clear();
    choices.set(key, choice);
  }
  return choice;
}

/** A streaming encoder for a coding, at the stream levels. */
export function createEncoder(coding: Coding): Transform {
  return coding === 'br'
    ? createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: STREAM_BROTLI_QUALITY } })
    : createGzip({ level: GZIP_LEVEL });
}

/** The flush that makes an encoder emit everything written so far without ending the stream. */
export function flushKind(coding: Coding): number {
  return coding === 'br' ? constants.BROTLI_OPERATION_FLUSH : constants.Z_SYNC_FLUSH;
}

/** Compress a whole body off the main thread (zlib's thread pool); `quality` is Brotli's, gzip uses {@link GZIP_LEVEL}. */
export function encodeBuffer(coding: Coding, body: Buffer, quality = CACHED_BROTLI_QUALITY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Buffer): void => (err ? reject(err) : resolve(out));
    if (coding === 'br') {
      const options: BrotliOptions = {
        params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: body.length },
      };
      brotliCompress(body, options, done);
    } else {
      const options: ZlibOptions = { level: GZIP_LEVEL };
      gzip(body, options, done);
    }
  });
}

const encodedBodies = new WeakMap<Buffer, Partial<Record<Coding, Promise<Buffer>>>>();

/**
 * A whole body in a coding, compressed once and remembered for as long as
 * the body itself lives: a listing or `404.html` held by the file cache is
 * compressed on its first request only; a body built per request is
 * compressed per request and forgotten with it.
 */
export function encodeOnce(coding: Coding, body: Buffer): Promise<Buffer> {
  let byCoding = encodedBodies.get(body);
  if (!byCoding) encodedBodies.set(body, (byCoding = {}));
  return (byCoding[coding] ??= encodeBuffer(coding, body));
}

/** Add `Accept-Encoding` to a Vary field value (absent, a list, or `*`). */
export function varyWithAcceptEncoding(current: string | undefined): string {
  if (current === undefined || current.trim() === '') return 'Accept-Encoding';
  if (/(?:^|,)\s*(?:\*|accept-encoding)\s*(?:,|$)/i.test(current)) return current;
  return current + ', Accept-Encoding';
}

/** An entity-tag made weak (RFC 9110 8.8.3): the bytes change with the coding, the content does not. */
export function weakenEtag(etag: string): string {
  return etag.startsWith('W/') ? etag : 'W/' + etag;
}
