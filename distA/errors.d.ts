import type { ServerResponse } from 'node:http';
/**
 * A failure that maps to one HTTP status. Handlers throw it; the single edge in
 * server.ts turns it into a short page and one log line.
 *
 * `publicMessage` is shown to the client and must never contain a filesystem
 * path or anything taken from the request; `logMessage` goes only to the log.
 */
export declare class HttpError extends Error {
    readonly status: number;
    readonly publicMessage: string | undefined;
    readonly headers: Record<string, string>;
    constructor(status: number, options?: {
        publicMessage?: string;
        logMessage?: string;
        headers?: Record<string, string>;
    });
}
/** 403 for a filesystem permission error (EACCES, EPERM) on `fsPath`; null for any other error. */
export declare function permissionDenied(err: unknown, fsPath: string): HttpError | null;
/** Reason phrase for a status, as Node knows it. */
export declare function reasonPhrase(status: number): string;
/** Escape text for an HTML text node or a quoted attribute value. */
export declare function escapeHtml(text: string): string;
/** The short HTML body of an error page: status, reason and an optional fixed message. */
export declare function renderErrorPage(status: number, message?: string): string;
/**
 * Headers every error page carries: it is never sniffed, never runs anything
 * (send's `error()` does the same) and is never cached.
 */
export declare const ERROR_PAGE_HEADERS: Readonly<Record<string, string>>;
/**
 * Send a short status page (errors, and the bodies of redirects). Any headers already set for the success path (ETag,
 * Content-Range…) are dropped first so that they cannot describe the page.
 * HEAD gets the same headers and no body.
 */
export declare function sendError(res: ServerResponse, status: number, options?: {
    message?: string;
    headers?: Record<string, string>;
    head?: boolean;
}): void;
/** The common 404, from prebuilt bytes and headers (the same page {@link sendError} would send). */
export declare function sendNotFound(res: ServerResponse, head: boolean): number;
