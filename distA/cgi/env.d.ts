/**
 * The request as a script sees it: everything needed to build the CGI
 * environment, already extracted from the socket and headers, so that
 * {@link buildCgiEnv} is a pure function (table-tested without processes).
 */
export interface CgiRequest {
    readonly method: string;
    /** `1.1`, `1.0`… as the request line said. */
    readonly httpVersion: string;
    /** node:http `rawHeaders`: name, value, name, value… in arrival order. */
    readonly rawHeaders: readonly string[];
    readonly remoteAddress: string;
    readonly remotePort: number;
    readonly localAddress: string;
    readonly localPort: number;
    readonly tls: boolean;
    /** The request target exactly as received (REQUEST_URI). */
    readonly requestUri: string;
    /** Raw query string without `?`. */
    readonly query: string;
    /** Body length the script will read, or null when there is no body. */
    readonly contentLength: number | null;
    readonly scriptName: string;
    readonly scriptFilename: string;
    readonly pathInfo: string;
    readonly documentRoot: string;
    /** Set when the server authenticated the user. */
    readonly remoteUser?: string;
    readonly authType?: string;
}
/** What the environment builder takes from the server's configuration. */
export interface CgiEnvOptions {
    /** The allow-listed part of the server's environment: {@link inheritedVariables}, computed once. */
    readonly inherited: Readonly<Record<string, string>>;
    readonly passAuthorization: boolean;
    readonly serverSoftware: string;
}
/** Where {@link inheritedVariables} reads from. */
export interface InheritOptions {
    /** The server's own environment: only allow-listed names are read from it. */
    readonly serverEnv: Readonly<Record<string, string | undefined>>;
    /** Extra names to pass from the server's environment. */
    readonly passEnv: readonly string[];
}
/** Used when the server itself has no PATH, so that `#!/usr/bin/env python3` still works. */
export declare const FALLBACK_PATH = "/usr/local/bin:/usr/bin:/bin";
/**
 * The allow-listed part of the server's environment: PATH, LANG, LC_*, TZ and
 * each `passEnv` name. Nothing else of the server's environment (tokens,
 * secrets) ever reaches a script, unlike CPython's CGI handler, which copied
 * os.environ whole.
 */
export declare function inheritedVariables(options: InheritOptions): Record<string, string>;
/**
 * Build a script's whole environment from nothing: the allow-list, the
 * request headers as HTTP_*, then the RFC 3875 4.1 meta-variables and the
 * common extras. Meta-variables are written last, so no request header and no
 * passed variable can set one (a header cannot become REMOTE_ADDR: it can only
 * ever be HTTP_REMOTE_ADDR).
 */
export declare function buildCgiEnv(req: CgiRequest, options: CgiEnvOptions): Record<string, string>;
