import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';

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

/** The short HTML body of an error page: status, reason and an optional fixed message. */
export function renderErrorPage(status: number, message?: string): string {
  const title = `${status} ${escapeHtml(reasonPhrase(status))}`;
  const detail = message ? `<p>${escapeHtml(message)}</p>` : '';
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body><h1>${title}</h1>${detail}</body></html>\n`
  );
}

/**
 * Headers every error page carries: it is never sniffed, never runs anything
 * (send's `error()` does the same) and is never cached.
 */
export const ERROR_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': "default-src 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

/**
 * Send a short status page (errors, and the bodies of redirects). Any headers already set for the success path (ETag,
 * Content-Range…) are dropped first so that they cannot describe the page.
 * HEAD gets the same headers and no body. Returns the body bytes sent.
 */
export function sendError(
  res: ServerResponse,
  status: number,
  options: { message?: string; headers?: Readonly<Record<string, string>>; head?: boolean } = {},
): number {
  const head = options.head === true;
  // The common 404 (a cached miss on the hot path) goes out from prebuilt headers; the bytes are the same.
  if (status === 404 && options.message === undefined && hasNoFields(options.headers) && res.getHeaderNames().length === 0) {
    return sendNotFound(res, head);
  }
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const body = Buffer.from(renderErrorPage(status, options.message));
  res.statusCode = status;
  for (const [k, v] of Object.entries(ERROR_PAGE_HEADERS)) res.setHeader(k, v);
  for (const [k, v] of Object.entries(options.headers ?? {})) {
    // HTTP/2 has no Connection header (RFC 9113 8.2.2): node:http2 would warn and drop it.
    if (k.length === 10 && k.toLowerCase() === 'connection' && 'stream' in res) continue;
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
