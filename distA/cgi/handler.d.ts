import type { RequestPath } from '../request-path.js';
import type { ScriptTarget } from '../resolve.js';
import type { RequestContext } from '../server.js';
import { ScriptPool } from './pool.js';
export { ScriptPool };
/** A stdout route holds its output this long (or up to ROUTE_COMMIT_BYTES) hoping to learn the exit code before choosing the status. */
export declare const ROUTE_COMMIT_MS = 250;
export declare const ROUTE_COMMIT_BYTES: number;
/**
 * Run a script (or command route) for a request, in phases: body, slot,
 * environment, process, then the response (CGI head, NPH, or stdout route).
 * Failures before the first byte are thrown as HttpError; after that, the
 * connection is cut.
 */
export declare function handleScript(ctx: RequestContext, target: ScriptTarget, path: RequestPath, method: string, redirected?: boolean): Promise<void>;
