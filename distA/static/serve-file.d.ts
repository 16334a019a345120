import type { Stats } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
/** More ranges than this in one request are ignored and the whole file is sent (Apache's MaxRanges idea). */
export declare const MAX_RANGES = 50;
/** Content-Type for a file name, from mime-types, with `charset=utf-8` on text types. */
export declare function typeFor(fsPath: string): string;
/**
 * A strong validator from size and modification time, the way nginx builds
 * one. Strong, so that If-Range (which needs strong comparison, RFC 9110
 * 13.1.5) can succeed; a file rewritten within the same millisecond to the same
 * size would keep its ETag, which is the accepted trade-off of every
 * stat-based ETag.
 */
export declare function etagFor(stats: Stats): string;
/** What serving a file needs, computed once per version of the file (and cached by StaticCache). */
export interface FileInfo {
    readonly fsPath: string;
    readonly size: number;
    /** Modification time in whole seconds, as Last-Modified can express it. */
    readonly mtimeS: number;
    readonly etag: string;
    readonly lastModified: string;
    readonly type: string;
    /** The whole content when the file is small enough to be held in memory; null to stream from disk. */
    readonly body: Buffer | null;
    /** The headers of a plain 200, built on first use: a flat [name, value, …] list for writeHead. */
    headers200?: string[];
}
/** FileInfo from a stat result; `body` when the content is already in hand. */
export declare function fileInfo(fsPath: string, stats: Stats, body?: Buffer | null): FileInfo;
/**
 * Serve one regular file for GET or HEAD: preconditions, then ranges, then the
 * bytes, from memory or streamed from disk. HEAD gets exactly GET's headers.
 * Throws HttpError (412, 416) before anything is written.
 */
export declare function serveFile(req: IncomingMessage, res: ServerResponse, config: Config, file: FileInfo): void;
/** Body bytes of responses whose headers went out through writeHead (which getHeader cannot see), for the access log. */
export declare const sentBodyBytes: WeakMap<ServerResponse<IncomingMessage>, number>;
