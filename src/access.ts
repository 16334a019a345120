import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { HttpError } from './errors.js';

/** Checks a password for one user; resolves true when it matches. */
export type PasswordCheck = (password: string) => Promise<boolean>;

/** Who may come in, from where, and through which Host. Built once at start-up. */
export interface AccessPolicy {
  /** user → password check; null when authentication is off. */
  readonly users: ReadonlyMap<string, PasswordCheck> | null;
  /** Host names allowed in the Host header; 'any' turns the check off; 'loopback' (default) enforces local names on loopback connections. */
  readonly allowedHosts: 'any' | 'loopback' | ReadonlySet<string>;
  /** Origins allowed to make unsafe cross-origin requests (`https://app.example`, `https://*.example.com`): cors.ts's OriginList. */
  readonly allowedOrigins: OriginMatcher;
  /** Answer cross-origin requests with `Access-Control-Allow-Origin: *` and let every origin through. */
  readonly cors: boolean;
}

/** A set of allowed origins; `has` takes a request's `Origin` as sent. */
export interface OriginMatcher {
  has(origin: string): boolean;
  readonly size: number;
}

/** A configuration error in the access options (the caller wraps it as a ConfigError). */
export class AccessConfigError extends Error {}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const REALM = 'Basic realm="scriptserve", charset="UTF-8"';
/** Verified credentials are remembered (as a keyed hash) so that bcrypt's cost is paid once per client, not per request. */
const MAX_CACHED_CREDENTIALS = 1024;

/** `user:password` from `--auth`: compared in constant time (both sides hashed first so lengths never leak). */
export function plainPasswordCheck(expected: string): PasswordCheck {
  const want = createHash('sha256').update(expected).digest();
  return async (password) => timingSafeEqual(createHash('sha256').update(password).digest(), want);
}

/**
 * A hashed password from an htpasswd file: bcrypt (`$2y$`, `$2a$`, `$2b$`,
 * as `htpasswd -B` writes) through bcryptjs, SHA-256/512 crypt (`$5$`, `$6$`)
 * through unixcrypt. Weak or unsalted formats (`{SHA}`, `$apr1$` MD5, DES
 * crypt, plain text) are refused at start-up rather than accepted quietly.
 */
export function hashedPasswordCheck(hash: string, where: string): PasswordCheck {
  // The hash libraries are loaded on first use: most servers have no auth, and start-up time counts.
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
    // bcryptjs knows $2a$/$2b$; $2y$ (PHP, htpasswd) is the same algorithm.
    const normalized = hash.replace(/^\$2y\$/, '$2b$');
    return async (password) => (await import('bcryptjs')).default.compare(password, normalized);
  }
  if (/^\$[56]\$[^$]*\$/.test(hash)) return async (password) => (await import('unixcrypt')).verify(password, hash);
  throw new AccessConfigError(`${where}: unsupported password hash (use bcrypt, htpasswd -B, or SHA-256/512 crypt)`);
}

/** Parse an htpasswd file: `user:hash` per line; blank lines and `#` comments ignored. */
export function loadHtpasswd(path: string): Map<string, PasswordCheck> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AccessConfigError(`cannot read auth file ${path}: ${(err as Error).message}`);
  }
  const users = new Map<string, PasswordCheck>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new AccessConfigError(`${path}:${i + 1}: expected user:hash`);
    users.set(line.slice(0, colon), hashedPasswordCheck(line.slice(colon + 1).trim(), `${path}:${i + 1}`));
  });
  if (users.size === 0) throw new AccessConfigError(`auth file ${path} has no users`);
  return users;
}

/** Parse `--auth user:password`. */
export function parseAuthSpec(spec: string): [string, PasswordCheck] {
  const colon = spec.indexOf(':');
  if (colon <= 0) throw new AccessConfigError('--auth takes user:password');
  return [spec.slice(0, colon), plainPasswordCheck(spec.slice(colon + 1))];
}

/** Normalize an origin as browsers send it: scheme://host[:port], lower case, no trailing slash. */
export function normalizeOrigin(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new AccessConfigError(`not an origin: ${JSON.stringify(origin)} (expected e.g. https://app.example)`);
  }
  if (url.origin === 'null') throw new AccessConfigError(`not an origin: ${JSON.stringify(origin)}`);
  return url.origin;
}

/** The host part of a Host header, lower case, without port; IPv6 keeps its brackets. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** Names that always mean this machine: localhost (and *.localhost, RFC 6761), loopback addresses. */
function isLocalName(name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === '[::1]') return true;
  return isIP(name) === 4 && name.startsWith('127.');
}

/** The last Host header value found to name this machine (a fact about the value alone, whatever the policy). */
let lastLocalHost: string | undefined;

/**
 * The Host check against DNS rebinding: a web page on evil.example whose name
 * is made to resolve to 127.0.0.1 reaches this server with `Host:
 * evil.example`, and is refused. By default it applies to connections that
 * arrive on a loopback address; a configured list applies everywhere.
 * `host` is the Host the client asked for (a trusted proxy's forwarded one,
 * forwarded.ts), by default the request's Host header.
 */
export function checkHost(policy: AccessPolicy, req: IncomingMessage, host: string | undefined = req.headers.host): void {
  if (policy.allowedHosts === 'any') return;
  if (host === undefined) return; // HTTP/1.0 without Host: nothing to rebind.
  // Nearly every request of a client repeats its Host header: remember the last one that named this machine.
  if (host === lastLocalHost) return;
  const name = hostName(host);
  if (isLocalName(name)) {
    lastLocalHost = host;
    return;
  }
  if (policy.allowedHosts === 'loopback') {
    if (!isLoopbackAddress(req.socket.localAddress)) return;
    const local = req.socket.localAddress!.replace(/^::ffff:/, '');
    if (name === local || name === `[${local}]`) return;
  } else if (policy.allowedHosts.has(name)) {
    return;
  }
  throw new HttpError(403, { publicMessage: 'This host name is not allowed (see --allowed-hosts).', logMessage: `Host refused: ${host}` });
}

/**
 * Cross-site request forgery defence, after Go 1.25's
 * net/http.CrossOriginProtection: an unsafe request that the browser marks
 * as cross-site (`Sec-Fetch-Site: cross-site` or `same-site`), or whose
 * `Origin` is not this server's own, is refused unless its origin is allowed.
 * Requests without either header (curl, scripts) pass: only browsers carry
 * ambient credentials and reach localhost on a page's behalf. `host` is the
 * Host the client asked for (forwarded by a trusted proxy, or the header).
 */
export function checkCrossOrigin(policy: AccessPolicy, req: IncomingMessage, host: string | undefined = req.headers.host): void {
  if (policy.cors || SAFE_METHODS.has(req.method ?? 'GET')) return;
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  if (origin !== undefined && policy.allowedOrigins.has(origin)) return;
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return;
    throw crossOriginRefused(origin ?? site);
  }
  if (origin === undefined) return;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    throw crossOriginRefused(origin);
  }
  if (host !== undefined && originHost === host.toLowerCase()) return;
  throw crossOriginRefused(origin);
}

function crossOriginRefused(what: string): HttpError {
  return new HttpError(403, {
    publicMessage: 'Cross-origin request refused (see --allow-origin).',
    logMessage: `cross-origin request refused: ${what}`,
  });
}

/**
 * HTTP Basic authentication (RFC 7617) for every request when users are
 * configured. Resolves the user name; throws 401 with a challenge otherwise.
 */
export function createAuthenticator(users: ReadonlyMap<string, PasswordCheck>): (req: IncomingMessage) => Promise<string> {
  const key = randomBytes(32);
  const verified = new Set<string>();
  // Checked, with its answer ignored, for a user name nobody has: the same kind of
  // check a real user costs (bcrypt for an htpasswd file), so timing cannot tell
  // which names exist.
  const decoy = users.values().next().value as PasswordCheck;
  return async (req) => {
    const header = req.headers.authorization;
    const m = header ? /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header) : null;
    if (!m) throw unauthorized('no credentials');
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    const check = users.get(user);
    const token = createHmac('sha256', key).update(decoded).digest('base64');
    if (check && verified.has(token)) return user;
    const ok = check ? await check(password) : (await decoy(password), false);
    if (!ok) throw unauthorized(`bad credentials for ${JSON.stringify(user)}`);
    if (verified.size >= MAX_CACHED_CREDENTIALS) verified.clear();
    verified.add(token);
    return user;
  };
}

function unauthorized(why: string): HttpError {
  return new HttpError(401, { publicMessage: 'Authentication required.', logMessage: why, headers: { 'WWW-Authenticate': REALM } });
}
