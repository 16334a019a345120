import { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ScriptPool } from './cgi/handler.js';
import { type Config, type ServeOptions } from './config.js';
import { type AccessRecord, type ScriptOutcome } from './log.js';
import { StaticFiles } from './static/handler.js';
/** A node:http request listener; `next` (connect/express) is called when the handler declines. */
export interface RequestHandler {
    (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
    /**
     * Release what the handler holds: its file-system watches and cache, and
     * the warm Python fork server. Scripts still running finish on their own.
     * Requests after close() are still served, without the cache or warm mode.
     */
    close(): void;
}
/** Per-request state shared by the steps of one request. */
export interface RequestContext {
    readonly req: IncomingMessage;
    readonly res: ServerResponse;
    readonly config: Config;
    readonly scripts: ScriptPool;
    readonly statics: StaticFiles;
    readonly record: AccessRecord;
    /** Body bytes written so far by a streaming step (scripts); null means "use Content-Length". */
    bytes: number | null;
    /** Set when a script runs: its outcome joins the request's log line. */
    scriptDone?: Promise<ScriptOutcome>;
    /** Answer as if `target` (a local path, RFC 3875 6.2.2) had been requested with GET. */
    readonly redirectLocally: (location: string) => Promise<void>;
    /** The user HTTP Basic authentication let in (REMOTE_USER), if any. */
    remoteUser?: string;
    /** Local redirects followed so far for this request. */
    localRedirects: number;
}
/**
 * A request handler for any node:http server, or connect/express middleware.
 * Options are validated here, once (throws ConfigError).
 */
export declare function createHandler(options?: ServeOptions | Config): RequestHandler;
/** A complete raw error response for a socket that has no ServerResponse. */
export declare function rawErrorResponse(status: number): string;
/**
 * A node:http server for the options, ready to `listen()`. Requests the
 * parser refuses (unknown methods such as `FOO` or lowercase `get`, bad
 * framing, oversized headers, timeouts) are answered here with a proper status
 * instead of Node's bare close.
 */
export declare function createServer(options?: ServeOptions | Config): Server;
/**
 * Shut a server from {@link createServer} down: stop accepting, close idle
 * keep-alive connections, let in-flight requests and running scripts finish
 * for up to `graceMs`, then kill the scripts' process groups and cut what
 * remains. Resolves when everything is closed.
 */
export declare function closeGracefully(server: Server, graceMs: number): Promise<void>;
/** SIGKILL the process groups of every script a server from {@link createServer} is running. */
export declare function killScripts(server: Server): void;
