import { STATUS_CODES } from 'node:http';
/**
 * A failure that maps to one HTTP status. Handlers throw it; the single edge in
 * server.ts turns it into a short page and one log line.
 *
 * `publicMessage` is shown to the client and must never contain a filesystem
 * path or anything taken from the request; `logMessage` goes only to the log.
 */
export class HttpError extends Error {
    status;
    publicMessage;
    headers;
    constructor(status, options = {}) {
        super(options.logMessage ?? options.publicMessage ?? STATUS_CODES[status] ?? 'error');
        this.status = status;
        this.publicMessage = options.publicMessage;
        this.headers = options.headers ?? {};
    }
}
/** 403 for a filesystem permission error (EACCES, EPERM) on `fsPath`; null for any other error. */
export function permissionDenied(err, fsPath) {
    const code = err?.code;
    return code === 'EACCES' || code === 'EPERM' ? new HttpError(403, { logMessage: `permission denied: ${fsPath}` }) : null;
}
/** Reason phrase for a status, as Node knows it. */
export function reasonPhrase(status) {
    return STATUS_CODES[status] ?? 'Unknown';
}
const HTML_ESCAPES = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&quot;',
    "'": '&#39;',
};
/** Escape text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text) {
    return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]);
}
/** The short HTML body of an error page: status, reason and an optional fixed message. */
export function renderErrorPage(status, message) {
    const title = `${status} ${escapeHtml(reasonPhrase(status))}`;
    const detail = message ? `<p>${escapeHtml(message)}</p>` : '';
    return (`<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
        `<body><h1>${title}</h1>${detail}</body></html>\n`);
}
/**
 * Headers every error page carries: it is never sniffed, never runs anything
 * (send's `error()` does the same) and is never cached.
 */
export const ERROR_PAGE_HEADERS = {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': "default-src 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
};
/**
 * Send a short status page (errors, and the bodies of redirects). Any headers already set for the success path (ETag,
 * Content-Range…) are dropped first so that they cannot describe the page.
 * HEAD gets the same headers and no body.
 */
export function sendError(res, status, options = {}) {
    for (const name of res.getHeaderNames())
        res.removeHeader(name);
    const body = Buffer.from(renderErrorPage(status, options.message));
    res.statusCode = status;
    for (const [k, v] of Object.entries(ERROR_PAGE_HEADERS))
        res.setHeader(k, v);
    for (const [k, v] of Object.entries(options.headers ?? {}))
        res.setHeader(k, v);
    res.setHeader('Content-Length', body.length);
    res.end(options.head ? undefined : body);
}
const NOT_FOUND_BODY = Buffer.from(renderErrorPage(404));
/** The 404 page's headers, built once: a flat [name, value, …] list for writeHead. */
const NOT_FOUND_HEADERS = [
    ...Object.entries(ERROR_PAGE_HEADERS).flat(),
    'Content-Length',
    String(NOT_FOUND_BODY.length),
];
/** The common 404, from prebuilt bytes and headers (the same page {@link sendError} would send). */
export function sendNotFound(res, head) {
    res.writeHead(404, NOT_FOUND_HEADERS);
    res.end(head ? undefined : NOT_FOUND_BODY);
    return head ? 0 : NOT_FOUND_BODY.length;
}
