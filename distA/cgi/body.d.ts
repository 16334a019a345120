import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
/** Chunked bodies up to this size are spooled in memory, larger ones to a temporary file. */
export declare const SPOOL_MEMORY_BYTES: number;
/** A request body ready to be fed to a script. */
export interface RequestBody {
    /** CONTENT_LENGTH, or null when the request has no body. */
    readonly length: number | null;
    /** Stream the body into the script's stdin (with backpressure), then close it. */
    pipeTo(stdin: Writable, onClientGone: () => void): void;
    /** Release what the body holds (temporary file). */
    dispose(): Promise<void>;
}
/**
 * Decide how the body reaches the script. With Content-Length it streams
 * straight through (node:http delivers exactly that many bytes); a chunked
 * body is spooled first so that CONTENT_LENGTH can be set, as RFC 3875 4.2
 * requires. Either way a body over the limit is 413 before the script starts.
 */
export declare function prepareBody(req: IncomingMessage, maxBytes: number, sendContinue: () => void): Promise<RequestBody>;
/** A request without a body: stdin is closed at once and CONTENT_LENGTH is unset. */
export declare const NO_BODY: RequestBody;
