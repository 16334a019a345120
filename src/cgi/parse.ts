/**
 * Parsing a CGI script's header block (RFC 3875 section 6), separate from
 * any process so it can be table-tested.
 */
import { TOKEN } from '../token.js';

/** Why a script's output was refused; the handler answers 502 and logs this. */
export class CgiOutputError extends Error {}

/** The decided response of a script, before any byte goes to the client. */
export type CgiHead =
  | { readonly kind: 'document'; readonly status: number; readonly reason: string; readonly headers: readonly (readonly [string, string])[] }
  /** RFC 3875 6.2.2: the server answers as if the client had asked for `location`. */
  | { readonly kind: 'local-redirect'; readonly location: string };

/** Largest header block accepted from a script. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Most header lines accepted from a script. */
export const MAX_HEAD_LINES = 200;

// Field values may hold visible ASCII, obs-text, SP and HTAB (RFC 9110 5.5); never CR, LF or NUL.
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Framing belongs to this server, not to the script (RFC 9112 6, 7). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection']);
const SINGLETON = new Set(['content-type', 'content-length', 'location', 'status']);

/**
 * Incremental parser: feed stdout chunks until it returns the head. The block
 * ends at the first empty line, whether lines end in LF or CRLF. Throws
 * {@link CgiOutputError} for anything malformed or oversized, so half a
 * response is never sent.
 */
export class CgiHeadParser {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes already known to contain no complete empty line. */
  private scanned = 0;

  constructor(private readonly maxBytes = MAX_HEAD_BYTES) {}

  /** Returns the head and the body bytes that followed it, or null when more output is needed. */
  push(chunk: Buffer): { head: CgiHead; rest: Buffer } | null {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const buf = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.size);
    this.chunks = [buf];
    const end = findHeadEnd(buf, Math.max(0, this.scanned - 3));
    if (end === null) {
      if (this.size > this.maxBytes) throw new CgiOutputError(`header block larger than ${this.maxBytes} bytes`);
      this.scanned = this.size;
      return null;
    }
    if (end.headEnd > this.maxBytes) throw new CgiOutputError(`header block larger than ${this.maxBytes} bytes`);
    const head = parseCgiHead(buf.subarray(0, end.headEnd).toString('latin1'));
    return { head, rest: buf.subarray(end.bodyStart) };
  }

  /** Whatever was received, when the output ended before the header block did. */
  get received(): number {
    return this.size;
  }
}

/** Position of the empty line that ends the header block: `\n\n`, `\n\r\n`. The block may also be empty. */
function findHeadEnd(buf: Buffer, from: number): { headEnd: number; bodyStart: number } | null {
  // An output that starts with an empty line has no headers at all.
  if (from === 0) {
    if (buf[0] === 0x0a) return { headEnd: 0, bodyStart: 1 };
    if (buf[0] === 0x0d && buf[1] === 0x0a) return { headEnd: 0, bodyStart: 2 };
  }
  let i = buf.indexOf(0x0a, from);
  while (i >= 0) {
    if (buf[i + 1] === 0x0a) return { headEnd: i + 1, bodyStart: i + 2 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { headEnd: i + 1, bodyStart: i + 3 };
    if (i + 2 >= buf.length) return null;
    i = buf.indexOf(0x0a, i + 1);
  }
  return null;
}

/**
 * Parse a complete header block (lines without the final empty line) and
 * decide the response (RFC 3875 6.2, 6.3):
 * - `Status: NNN reason` sets the status;
 * - `Location: /path` alone is a local redirect; with an explicit 3xx Status,
 *   or an absolute URL, it is a client redirect (302 unless Status says);
 * - otherwise it is a document. Whether it needs a Content-Type depends on
 *   the body that follows ({@link checkBodyType}), not on the head alone.
 */
export function parseCgiHead(block: string): CgiHead {
  const fields = splitFields(block);
  if (fields.length === 0) throw new CgiOutputError('no header lines before the body');
  let status: number | null = null;
  let reason = '';
  let location: string | undefined;
  let hasType = false;
  const headers: [string, string][] = [];
  const seen = new Set<string>();
  for (const [name, value] of fields) {
    const lower = name.toLowerCase();
    if (SINGLETON.has(lower)) {
      if (seen.has(lower)) throw new CgiOutputError(`repeated ${name} header`);
      seen.add(lower);
    }
    if (lower === 'status') {
      [status, reason] = parseStatus(value);
      continue;
    }
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === 'location') location = value;
    if (lower === 'content-type') hasType = true;
    if (lower === 'content-length' && !/^\d{1,15}$/.test(value)) throw new CgiOutputError('invalid Content-Length');
    headers.push([name, value]);
  }
  if (location !== undefined) {
    if (location === '') throw new CgiOutputError('empty Location');
    const local = location.startsWith('/') && !location.startsWith('//');
    if (local && (status === null || status === 200) && !hasType) return { kind: 'local-redirect', location };
    if (status === null) status = 302;
  }
  status ??= 200;
  return { kind: 'document', status, reason, headers };
}

/**
 * RFC 3875 6.3.1: Content-Type is required "if an entity body is returned",
 * and only then. A head without it (`git http-backend`'s `Status: 404` with
 * cache headers, a `Location` redirect) is a whole answer when the body
 * turns out empty, as Apache and lighttpd relay it; body bytes without a
 * type are refused (502). The relay asks this when the first body byte
 * arrives or the output ends, so a typed body is never held back.
 */
export function checkBodyType(head: CgiHead, bodyBytes: number): void {
  if (bodyBytes === 0 || !needsType(head)) return;
  throw new CgiOutputError('no Content-Type in a document response with a body');
}

/** Does a body after this head need a Content-Type? (204 and 304 have no body: RFC 9110 15.3.5, 15.4.5.) */
export function needsType(head: CgiHead): boolean {
  if (head.kind !== 'document' || head.status === 204 || head.status === 304) return false;
  return !head.headers.some(([name]) => name.length === 12 && name.toLowerCase() === 'content-type');
}

/**
 * The decision for a script's whole output (header block and body) at once:
 * what the relay decides for the same bytes as they stream. For tests and
 * callers that hold the output.
 */
export function decideCgiOutput(output: Buffer | string): CgiHead {
  const parsed = new CgiHeadParser().push(typeof output === 'string' ? Buffer.from(output, 'latin1') : output);
  if (parsed === null) throw new CgiOutputError('output ended before the header block did');
  checkBodyType(parsed.head, parsed.rest.length);
  return parsed.head;
}

function splitFields(block: string): [string, string][] {
  const lines = block.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length > MAX_HEAD_LINES) throw new CgiOutputError(`more than ${MAX_HEAD_LINES} header lines`);
  return lines.map((raw) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith(' ') || line.startsWith('\t')) throw new CgiOutputError('folded header line');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new CgiOutputError('header line without a name and colon');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new CgiOutputError('invalid header name');
    // Only SP and HTAB are optional whitespace (RFC 9110 5.6.3); any other control character is refused below, not trimmed away.
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (BAD_VALUE.test(value)) throw new CgiOutputError(`control character in ${name} header`);
    return [name, value];
  });
}

function parseStatus(value: string): [number, string] {
  const m = /^(\d{3})(?:[ \t]+(.*))?$/.exec(value);
  const code = m ? Number(m[1]) : NaN;
  if (!m || code < 200 || code > 599) throw new CgiOutputError('invalid Status header');
  return [code, m[2] ?? ''];
}
