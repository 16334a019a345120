/**
 * Conditional requests (RFC 9110 13.2.2): the one place that decides whether a
 * request's preconditions let the selected representation be sent, answered
 * 304, refused with 412, or sent whole despite a Range. Pure: header values
 * and validators in, a verdict out. Every path that serves a file, the
 * synchronous hot path included, asks it.
 *
 * Each condition evaluates to one of three states, as in Go's
 * `net/http/fs.go` (`condResult`): `none` when its header is absent or cannot
 * be used (an invalid date is ignored, RFC 9110 13.1.3/13.1.4), else whether
 * the condition holds.
 */

/** The outcome of one condition: its header is absent or unusable, or the condition is true or false. */
export type Condition = 'none' | 'true' | 'false';

/** The request header fields preconditions read, by their lower-case names (node's `req.headers` fits). */
export interface ConditionalHeaders {
  readonly 'if-match'?: string;
  readonly 'if-unmodified-since'?: string;
  readonly 'if-none-match'?: string;
  readonly 'if-modified-since'?: string;
  readonly 'if-range'?: string;
  readonly range?: string;
  readonly 'cache-control'?: string;
}

/** The selected representation's validators. */
export interface Validators {
  /** A strong entity-tag, quoted (`"…"`). */
  readonly etag: string;
  /** The Last-Modified field value, exactly as sent. */
  readonly lastModified: string;
  /** The modification time in whole seconds, as Last-Modified expresses it. */
  readonly mtimeS: number;
}

/**
 * What the preconditions allow:
 * - `send`: send the representation; a Range, if any, applies;
 * - `send-whole`: send it all, ignoring the Range (If-Range failed);
 * - `not-modified`: 304;
 * - `precondition-failed`: 412.
 */
export type Verdict = 'send' | 'send-whole' | 'not-modified' | 'precondition-failed';

/** A `no-cache` directive in a request's Cache-Control, matched exactly as `fresh` (which this module replaces) did. */
const NO_CACHE = /(?:^|,)\s*no-cache\s*(?:,|$)/;

/**
 * Evaluate a request's preconditions in the order of RFC 9110 13.2.2:
 *
 * 1. If-Match false → 412;
 * 2. else, without If-Match, If-Unmodified-Since false → 412;
 * 3. If-None-Match false → 304 for GET/HEAD, 412 for other methods;
 * 4. else, without If-None-Match, for GET/HEAD, If-Modified-Since false → 304;
 * 5. with a Range, If-Range false → the whole representation, not the range.
 *
 * One departure, kept from `fresh` (expressjs/send): a request
 * `Cache-Control: no-cache` skips steps 3 and 4 and gets the representation,
 * since a client forcing an end-to-end reload wants the bytes, not a 304.
 * Step 5 applies to HEAD as well as GET, so HEAD keeps GET's headers
 * (RFC 9110 9.3.2).
 */
export function evaluatePreconditions(method: string, headers: ConditionalHeaders, validators: Validators): Verdict {
  let condition = checkIfMatch(headers['if-match'], validators.etag);
  if (condition === 'none') condition = checkIfUnmodifiedSince(headers['if-unmodified-since'], validators.mtimeS);
  if (condition === 'false') return 'precondition-failed';
  const getOrHead = method === 'GET' || method === 'HEAD';
  const cacheControl = headers['cache-control'];
  if (cacheControl === undefined || !NO_CACHE.test(cacheControl)) {
    const noneMatch = checkIfNoneMatch(headers['if-none-match'], validators.etag);
    if (noneMatch === 'false') return getOrHead ? 'not-modified' : 'precondition-failed';
    if (noneMatch === 'none' && getOrHead && checkIfModifiedSince(headers['if-modified-since'], validators.mtimeS) === 'false') {
      return 'not-modified';
    }
  }
  if (headers.range !== undefined && getOrHead && checkIfRange(headers['if-range'], validators) === 'false') return 'send-whole';
  return 'send';
}

/** If-Match (RFC 9110 13.1.1): `*` or a listed tag equal to ours by strong comparison. An empty list matches nothing. */
export function checkIfMatch(header: string | undefined, etag: string): Condition {
  if (header === undefined) return 'none';
  return header.trim() === '*' || listHasTag(header, etag, false) ? 'true' : 'false';
}

/** If-Unmodified-Since (RFC 9110 13.1.4): true unless modified after the date; an invalid date is ignored. */
export function checkIfUnmodifiedSince(header: string | undefined, mtimeS: number): Condition {
  const since = parseDateS(header);
  if (Number.isNaN(since)) return 'none';
  return mtimeS <= since ? 'true' : 'false';
}

/**
 * If-None-Match (RFC 9110 13.1.2): false when `*` or a listed tag equals ours
 * by weak comparison. An empty field is treated as absent, so that
 * If-Modified-Since decides (what `fresh` did).
 */
export function checkIfNoneMatch(header: string | undefined, etag: string): Condition {
  if (header === undefined || header === '') return 'none';
  // The common revalidation sends back exactly the tag it was given.
  if (header === etag) return 'false';
  return header.trim() === '*' || listHasTag(header, etag, true) ? 'false' : 'true';
}

/** If-Modified-Since (RFC 9110 13.1.3): false when not modified after the date (equal seconds included); an invalid date is ignored. */
export function checkIfModifiedSince(header: string | undefined, mtimeS: number): Condition {
  const since = parseDateS(header);
  if (Number.isNaN(since)) return 'none';
  return mtimeS <= since ? 'false' : 'true';
}

/**
 * If-Range (RFC 9110 13.1.5): an entity-tag must match by strong comparison
 * (a weak one never does); a date must exactly match the Last-Modified value
 * sent, so anything else, an unparseable date included, is false.
 */
export function checkIfRange(header: string | undefined, validators: Validators): Condition {
  if (header === undefined) return 'none';
  const value = header.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === validators.etag ? 'true' : 'false';
  return value === validators.lastModified ? 'true' : 'false';
}

/**
 * Is `etag` in a comma-separated entity-tag list (RFC 9110 8.8.3)? Strong
 * comparison: both strong and identical; weak: identical once `W/` is dropped.
 */
function listHasTag(header: string, etag: string, weak: boolean): boolean {
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  for (const raw of header.split(',')) {
    const tag = raw.trim();
    if (tag === etag && !(etag.startsWith('W/') && !weak)) return true;
    if (weak && (tag === opaque || (tag.startsWith('W/') && tag.slice(2) === opaque))) return true;
  }
  return false;
}

/** An HTTP date in whole seconds; NaN when absent or unparseable. */
function parseDateS(value: string | undefined): number {
  if (!value) return NaN;
  return Math.floor(Date.parse(value) / 1000);
}
