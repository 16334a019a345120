import type { Dirent } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
/** One entry of a directory listing. */
export interface ListingEntry {
    readonly name: string;
    readonly type: 'directory' | 'file';
    /** Bytes for files; null for directories. */
    readonly size: number | null;
    /** Last modification, ISO 8601. */
    readonly mtime: string;
}
/**
 * Read a directory: dotfiles hidden unless allowed, entries that vanish or
 * cannot be stat'ed (a dangling symlink) left out. Directories first, then
 * files; each group by name, case-insensitively as CPython's listing does,
 * then by code point so the order is total. `hasSymlinks` tells a cache that
 * the listing depends on targets no directory watch covers.
 */
export declare function readListing(config: Config, fsPath: string, 
/** The directory's entries when the caller has just read them. */
read?: readonly Dirent[]): Promise<{
    entries: ListingEntry[];
    hasSymlinks: boolean;
}>;
/**
 * The HTML page for a listing. Names are HTML-escaped for display and
 * percent-encoded (RFC 3986) in relative links, so every name round-trips
 * (spaces, `#`, `?`, `%`, quotes, non-ASCII).
 */
export declare function renderListingHtml(urlPath: string, entries: readonly ListingEntry[], isRoot: boolean): string;
/** Does the client prefer the JSON listing? */
export declare function wantsJson(req: IncomingMessage): Promise<boolean>;
/** The body of a listing, HTML or JSON. */
export declare function listingBody(urlPath: string, entries: readonly ListingEntry[], isRoot: boolean, json: boolean): Buffer;
/**
 * Send a listing body. It is built whole (listings are small) so HEAD and GET
 * carry the same Content-Length. A strict CSP means a hostile file name can
 * never run script.
 */
export declare function sendListing(req: IncomingMessage, res: ServerResponse, body: Buffer, json: boolean): void;
