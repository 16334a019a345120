/**
 * Parsing a CGI script's header block (RFC 3875 section 6), separate from
 * any process so it can be table-tested.
 */
/** Why a script's output was refused; the handler answers 502 and logs this. */
export declare class CgiOutputError extends Error {
}
/** The decided response of a script, before any byte goes to the client. */
export type CgiHead = {
    readonly kind: 'document';
    readonly status: number;
    readonly reason: string;
    readonly headers: readonly (readonly [string, string])[];
}
/** RFC 3875 6.2.2: the server answers as if the client had asked for `location`. */
 | {
    readonly kind: 'local-redirect';
    readonly location: string;
};
/** Largest header block accepted from a script. */
export declare const MAX_HEAD_BYTES: number;
/** Most header lines accepted from a script. */
export declare const MAX_HEAD_LINES = 200;
/**
 * Incremental parser: feed stdout chunks until it returns the head. The block
 * ends at the first empty line, whether lines end in LF or CRLF. Throws
 * {@link CgiOutputError} for anything malformed or oversized, so half a
 * response is never sent.
 */
export declare class CgiHeadParser {
    private readonly maxBytes;
    private chunks;
    private size;
    /** Bytes already known to contain no complete empty line. */
    private scanned;
    constructor(maxBytes?: number);
    /** Returns the head and the body bytes that followed it, or null when more output is needed. */
    push(chunk: Buffer): {
        head: CgiHead;
        rest: Buffer;
    } | null;
    /** Whatever was received, when the output ended before the header block did. */
    get received(): number;
}
/**
 * Parse a complete header block (lines without the final empty line) and
 * decide the response (RFC 3875 6.2, 6.3):
 * - `Status: NNN reason` sets the status;
 * - `Location: /path` alone is a local redirect; with an explicit 3xx Status,
 *   or an absolute URL, it is a client redirect (302 unless Status says);
 * - otherwise it is a document, which needs Content-Type unless it cannot
 *   have a body (204, 304).
 */
export declare function parseCgiHead(block: string): CgiHead;
