import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { lingerBeforeClose } from './linger.js';
import { ERROR_CSS, cspHash } from './theme.js';

/**
 * A failure that maps to one HTTP status. Handlers throw it; the single edge in
 * server.ts turns it into a short page and one log line.
 *
 * `publicMessage` is shown to the client and must never contain a filesystem
 * path or anything taken from the request; `logMessage` goes only to the log.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly publicMessage: string | undefined;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    options: { publicMessage?: string; logMessage?: string; headers?: Record<string, string> } = {},
  ) {
    super(options.logMessage ?? options.publicMessage ?? STATUS_CODES[status] ?? 'error');
    this.status = status;
    this.publicMessage = options.publicMessage;
    this.headers = options.headers ?? {};
  }
}

/** 403 for a filesystem permission error (EACCES, EPERM) on `fsPath`; null for any other error. */
export function permissionDenied(err: unknown, fsPath: string): HttpError | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EACCES' || code === 'EPERM' ? new HttpError(403, { logMessage: `permission denied: ${fsPath}` }) : null;
}

/** Reason phrase for a status, as Node knows it. */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown';
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escape text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}

/** One sentence for each status a page is shown for, when the error gives none of its own. */
const SENTENCES: Readonly<Record<number, string>> = {
  301: 'This has moved to another address.',
  308: 'This has moved to another address.',
  400: 'The server could not understand this request.',
  401: 'This server needs a user name and password.',
  403: 'You may not see what is at this address.',
  404: 'Nothing is served at this address.',
  405: 'This address does not answer that method.',
  408: 'The request took too long to arrive.',
  411: 'The request needs a Content-Length.',
  412: 'A precondition of the request does not hold.',
  413: 'The request body is larger than this server takes.',
  414: 'The address is longer than this server takes.',
  416: 'The requested range lies outside the file.',
  431: 'The request headers are larger than this server takes.',
  500: 'Something went wrong on the server; its log has the details.',
  501: 'The server does not do what this request asks.',
  502: 'The script behind this address gave an answer the server could not use.',
  503: 'The server is too busy to answer now; try again shortly.',
  504: 'The script behind this address took too long to answer.',
};

/**
 * The body of an error page, styled like the listing (its light and dark
 * themes): the status and reason, one sentence (the error's own fixed
 * message, or the status's), and a link back to `back`, the nearest existing
 * parent folder (canonical and percent-encoded; `/` when none is known).
 * Never a path, a stack trace or a script's output.
 */
export function renderErrorPage(status: number, message?: string, back = '/'): string {
  const title = `${status} ${escapeHtml(reasonPhrase(status))}`;
  const sentence = message || SENTENCES[status] || 'The server could not answer this request.';
  const href = escapeHtml(back);
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title>` +
    `<style>${ERROR_CSS}</style></head>` +
    `<body><h1>${title}</h1><p>${escapeHtml(sentence)}</p><p><a href="${href}">${status < 400 ? 'Continue to' : 'Back to'} ${escapeHtml(safeDecode(back))}</a></p></body></html>\n`
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Headers every error page carries: it is never sniffed, never runs anything
 * (send's `error()` does the same; its one style is allowed by hash) and is
 * never cached.
 */
export const ERROR_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': `default-src 'none'; style-src ${cspHash(ERROR_CSS)}`,
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

/**
 * Send a short status page (errors, and the bodies of redirects, whose link
 * is their Location; `back` is an error's way back, `/` by default). Any headers already set for the success path (ETag,
 * Content-Range…) are dropped first so that they cannot describe the page.
 * HEAD gets the same headers and no body. Returns the body bytes sent.
 */
export function sendError(
  res: ServerResponse,
  status: number,
  options: { message?: string; headers?: Readonly<Record<string, string>>; head?: boolean; back?: string } = {},
): number {
  const head = options.head === true;
  const back = options.back ?? options.headers?.Location ?? '/';
  // The common 404 (a cached miss on the hot path) goes out from prebuilt headers; the bytes are the same.
  if (status === 404 && back === '/' && options.message === undefined && hasNoFields(options.headers) && res.getHeaderNames().length === 0) {
    return sendNotFound(res, head);
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const body = Buffer.from(renderErrorPage(status, options.message, back));
  res.statusCode = status;
  for (const [k, v] of Object.entries(ERROR_PAGE_HEADERS)) res.setHeader(k, v);
  for (const [k, v] of Object.entries(options.headers ?? {})) {
    if (k.length === 10 && k.toLowerCase() === 'connection') {
      // A body still arriving is read and dropped, so that closing does not reset the answer away.
      if (v.toLowerCase() === 'close') lingerBeforeClose(res);
      // HTTP/2 has no Connection header (RFC 9113 8.2.2): node:http2 would warn and drop it.
      if ('stream' in res) continue;
    }
    res.setHeader(k, v);
  }
  res.setHeader('Content-Length', body.length);
  res.end(head ? undefined : body);
  return head ? 0 : body.length;
}

function hasNoFields(headers: Readonly<Record<string, string>> | undefined): boolean {
  for (const _ in headers) return false;
  return true;
}

// The page as a string, not a Buffer: node:http then sends status line,
// headers and body in one write instead of a two-chunk writev (bench/NOTES.md,
// "404 floor variants").
const NOT_FOUND_PAGE = renderErrorPage(404);
const NOT_FOUND_BYTES = Buffer.byteLength(NOT_FOUND_PAGE);
/** The 404 page's headers, built once: a flat [name, value, …] list for writeHead. */
const NOT_FOUND_HEADERS: string[] = [...Object.entries(ERROR_PAGE_HEADERS).flat(), 'Content-Length', String(NOT_FOUND_BYTES)];

/** The common 404, from a prebuilt page and headers (the same bytes {@link sendError} sends otherwise). */
function sendNotFound(res: ServerResponse, head: boolean): number {
  res.writeHead(404, NOT_FOUND_HEADERS);
  if (head) {
    res.end();
    return 0;
  }
  res.end(NOT_FOUND_PAGE);
  return NOT_FOUND_BYTES;
}
