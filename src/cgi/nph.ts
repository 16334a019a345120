/**
 * An NPH script's output is a whole HTTP/1.x response. Over HTTP/1.1 it goes
 * to the socket untouched (handler.ts); over HTTP/2, which has no status line
 * and its own framing, its status line and header block are parsed here and
 * relayed as a normal response. Pure, so it is table-tested without processes.
 */
import { CgiOutputError, MAX_HEAD_BYTES, MAX_HEAD_LINES } from './parse.js';
import { TOKEN } from '../token.js';

/** The response an NPH script wrote, minus what HTTP/2 carries differently. */
export interface NphHead {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  /** The Content-Length the script declared, or null. */
  readonly contentLength: number | null;
}

// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/** Connection-specific fields (RFC 9113 8.2.2): never sent in HTTP/2. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/**
 * Parse the head of an NPH output once the whole block is in `buf`: the head
 * and the body bytes after it, or null while more output is needed. Throws
 * {@link CgiOutputError} (a 502) for a malformed or oversized head, and for a
 * transfer coding, which cannot be relayed as it stands.
 */
export function parseNphHead(buf: Buffer, maxBytes = MAX_HEAD_BYTES): { head: NphHead; rest: Buffer } | null {
  const lf = buf.indexOf('\n\n');
  const crlf = buf.indexOf('\r\n\r\n');
  let end = -1;
  let bodyStart = -1;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) [end, bodyStart] = [crlf, crlf + 4];
  else if (lf >= 0) [end, bodyStart] = [lf, lf + 2];
  if (end < 0) {
    if (buf.length > maxBytes) throw new CgiOutputError(`NPH header block larger than ${maxBytes} bytes`);
    return null;
  }
  if (end > maxBytes) throw new CgiOutputError(`NPH header block larger than ${maxBytes} bytes`);
  const lines = buf.subarray(0, end).toString('latin1').split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > MAX_HEAD_LINES) throw new CgiOutputError(`more than ${MAX_HEAD_LINES} header lines`);
  const m = /^HTTP\/\d\.\d (\d{3})(?: .*)?$/.exec(lines[0]!);
  if (!m) throw new CgiOutputError('NPH output does not start with an HTTP status line');
  const status = Number(m[1]);
  if (status < 200 || status > 599) throw new CgiOutputError('invalid NPH status');
  const headers: [string, string][] = [];
  let contentLength: number | null = null;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new CgiOutputError('malformed NPH header line');
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (BAD_VALUE.test(value)) throw new CgiOutputError(`control character in ${name} header`);
    const lower = name.toLowerCase();
    if (lower === 'transfer-encoding' && value.toLowerCase() !== 'identity') throw new CgiOutputError('NPH output with a transfer coding cannot be relayed over HTTP/2');
    if (CONNECTION_SPECIFIC.has(lower)) continue;
    if (lower === 'content-length') {
      if (!/^\d{1,15}$/.test(value) || contentLength !== null) throw new CgiOutputError('invalid Content-Length');
      contentLength = Number(value);
    }
    headers.push([name, value]);
  }
  return { head: { status, headers, contentLength }, rest: buf.subarray(bodyStart) };
}
