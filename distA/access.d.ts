import type { IncomingMessage } from 'node:http';
/** Checks a password for one user; resolves true when it matches. */
export type PasswordCheck = (password: string) => Promise<boolean>;
/** Who may come in, from where, and through which Host. Built once at start-up. */
export interface AccessPolicy {
    /** user → password check; null when authentication is off. */
    readonly users: ReadonlyMap<string, PasswordCheck> | null;
    /** Host names allowed in the Host header; 'any' turns the check off; 'loopback' (default) enforces local names on loopback connections. */
    readonly allowedHosts: 'any' | 'loopback' | ReadonlySet<string>;
    /** Origins allowed to make unsafe cross-origin requests (`https://app.example`). */
    readonly allowedOrigins: ReadonlySet<string>;
    /** Answer cross-origin requests with `Access-Control-Allow-Origin: *` and let every origin through. */
    readonly cors: boolean;
}
/** A configuration error in the access options (the caller wraps it as a ConfigError). */
export declare class AccessConfigError extends Error {
}
/** `user:password` from `--auth`: compared in constant time (both sides hashed first so lengths never leak). */
export declare function plainPasswordCheck(expected: string): PasswordCheck;
/**
 * A hashed password from an htpasswd file: bcrypt (`$2y$`, `$2a$`, `$2b$`,
 * as `htpasswd -B` writes) through bcryptjs, SHA-256/512 crypt (`$5$`, `$6$`)
 * through unixcrypt. Weak or unsalted formats (`{SHA}`, `$apr1$` MD5, DES
 * crypt, plain text) are refused at start-up rather than accepted quietly.
 */
export declare function hashedPasswordCheck(hash: string, where: string): PasswordCheck;
/** Parse an htpasswd file: `user:hash` per line; blank lines and `#` comments ignored. */
export declare function loadHtpasswd(path: string): Map<string, PasswordCheck>;
/** Parse `--auth user:password`. */
export declare function parseAuthSpec(spec: string): [string, PasswordCheck];
/** Normalize an origin as browsers send it: scheme://host[:port], lower case, no trailing slash. */
export declare function normalizeOrigin(origin: string): string;
/** The host part of a Host header, lower case, without port; IPv6 keeps its brackets. */
export declare function hostName(host: string): string;
/**
 * The Host check against DNS rebinding: a web page on evil.example whose name
 * is made to resolve to 127.0.0.1 reaches this server with `Host:
 * evil.example`, and is refused. By default it applies to connections that
 * arrive on a loopback address; a configured list applies everywhere.
 */
export declare function checkHost(policy: AccessPolicy, req: IncomingMessage): void;
/**
 * Cross-site request forgery defence, after Go 1.25's
 * net/http.CrossOriginProtection: an unsafe request that the browser marks
 * as cross-site (`Sec-Fetch-Site: cross-site` or `same-site`), or whose
 * `Origin` is not this server's own, is refused unless its origin is allowed.
 * Requests without either header (curl, scripts) pass: only browsers carry
 * ambient credentials and reach localhost on a page's behalf.
 */
export declare function checkCrossOrigin(policy: AccessPolicy, req: IncomingMessage): void;
/**
 * HTTP Basic authentication (RFC 7617) for every request when users are
 * configured. Resolves the user name; throws 401 with a challenge otherwise.
 */
export declare function createAuthenticator(users: ReadonlyMap<string, PasswordCheck>): (req: IncomingMessage) => Promise<string>;
