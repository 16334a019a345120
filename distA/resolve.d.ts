import type { Stats } from 'node:fs';
import type { Config, Route } from './config.js';
import { type RequestPath } from './request-path.js';
/** A script to run: found in a script directory, or a command route. */
export interface ScriptTarget {
    /** Absolute argv: the script itself, or an interpreter followed by the script. */
    readonly argv: readonly string[];
    /** Absolute path of the script file (SCRIPT_FILENAME); for a route, its command. */
    readonly scriptFilename: string;
    /** URL path of the script (SCRIPT_NAME), decoded. */
    readonly scriptName: string;
    /** The rest of the path after the script (PATH_INFO), decoded; '' when none. */
    readonly pathInfo: string;
    /** Working directory: the script's own directory, or the root for routes. */
    readonly cwd: string;
    /** Non-parsed-header script (`nph-` prefix): its output is the whole response. */
    readonly nph: boolean;
    /** Set for command routes. */
    readonly route?: Route;
    /** No symlink on the way to the script: its resolution may be cached (watches see every change). */
    readonly realPathIsPath?: boolean;
}
/** Where a request goes. Each kind has one handler. */
export type Target = 
/** `realPath` differs from `fsPath` when a symlink is on the way (such targets are not cached). */
{
    readonly kind: 'file';
    readonly fsPath: string;
    readonly realPath: string;
    readonly stats: Stats;
} | {
    readonly kind: 'directory';
    readonly fsPath: string;
    readonly realPath: string;
    readonly urlPath: string;
    readonly isRoot: boolean;
} | {
    readonly kind: 'redirect';
    readonly location: string;
} | {
    readonly kind: 'script';
    readonly script: ScriptTarget;
};
/**
 * Map a parsed request to a target. Order: command routes, canonical-path
 * redirect, script directories, then files. Everything here fails with one
 * HttpError; nothing touches the response.
 */
export declare function resolveTarget(config: Config, path: RequestPath, method: string): Promise<Target>;
/** The command route for a request, if one matches its method and path. */
export declare function matchRoute(routes: readonly Route[], path: RequestPath, method: string): Route | undefined;
/** Does this path lead into a script directory (whose answers are never cached)? */
export declare function isScriptPath(config: Config, path: RequestPath): boolean;
