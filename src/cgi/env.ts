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
  /** The client's scheme is https (TLS here, or at a trusted proxy): HTTPS=on, REQUEST_SCHEME=https. */
  readonly tls: boolean;
  /** The Host the client asked for, when a trusted proxy forwarded it (else SERVER_NAME comes from the Host header). */
  readonly host?: string;
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
export const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * Request headers that never become HTTP_* variables: the body's own two have
 * CONTENT_LENGTH/CONTENT_TYPE (RFC 3875 4.1.18 SHOULD NOT duplicate), `Proxy`
 * would become HTTP_PROXY, which many HTTP clients obey (httpoxy,
 * CVE-2016-5385), Proxy-Authorization holds credentials meant for a proxy
 * (Apache withholds it too), and connection-level fields mean nothing to a script.
 */
const WITHHELD_HEADERS = new Set(['content-length', 'content-type', 'proxy', 'proxy-authorization', 'connection', 'transfer-encoding']);

/** Header names that map to a variable name unambiguously: `X_Foo` would collide with `X-Foo` (Apache drops them too). */
const MAPPABLE_NAME = /^[A-Za-z0-9-]+$/;

/** IPv4 clients of a dual-stack socket show up as `::ffff:a.b.c.d`; scripts expect `a.b.c.d`. */
function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** SERVER_NAME: the Host header's name part (RFC 3875 4.1.14), else the address the request came in on. */
function serverName(host: string | undefined, localAddress: string): string {
  if (!host) {
    const address = plainAddress(localAddress);
    return address.includes(':') ? `[${address}]` : address;
  }
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(0, end + 1) : host;
  }
  const colon = host.indexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

/**
 * Collect request headers as HTTP_* meta-variables (RFC 3875 4.1.18):
 * repeated fields joined with `, ` (RFC 9110 5.3), Cookie with `; ` (RFC 6265
 * 5.4: joining cookies with a comma changes their meaning).
 */
function headerVariables(req: CgiRequest, passAuthorization: boolean): Map<string, string> {
  const out = new Map<string, string>();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const field = fieldFor(raw[i]!);
    if (field === null) continue;
    if (field.name === 'authorization' && !passAuthorization) continue;
    const prev = out.get(field.key);
    const value = raw[i + 1]!;
    out.set(field.key, prev === undefined ? value : prev + (field.name === 'cookie' ? '; ' : ', ') + value);
  }
  return out;
}

/** A header name as sent, lower-cased, and its variable; null when it has none (withheld, or not mappable). */
type Field = { readonly name: string; readonly key: string } | null;
/** The same few names come on every request: each is mapped once (up to FIELD_CACHE_SIZE of them). */
const fieldCache = new Map<string, Field>();
const FIELD_CACHE_SIZE = 1000;

function fieldFor(sent: string): Field {
  let field = fieldCache.get(sent);
  if (field !== undefined) return field;
  const name = sent.toLowerCase();
  field = WITHHELD_HEADERS.has(name) || !MAPPABLE_NAME.test(name) ? null : { name, key: 'HTTP_' + name.toUpperCase().replaceAll('-', '_') };
  if (fieldCache.size < FIELD_CACHE_SIZE) fieldCache.set(sent, field);
  return field;
}

/**
 * The allow-listed part of the server's environment: PATH, LANG, LC_*, TZ and
 * each `passEnv` name. Nothing else of the server's environment (tokens,
 * secrets) ever reaches a script, unlike CPython's CGI handler, which copied
 * os.environ whole.
 */
export function inheritedVariables(options: InheritOptions): Record<string, string> {
  const env: Record<string, string> = { PATH: options.serverEnv.PATH || FALLBACK_PATH };
  for (const [name, value] of Object.entries(options.serverEnv)) {
    if (value === undefined) continue;
    if (name === 'LANG' || name === 'TZ' || name.startsWith('LC_')) env[name] = value;
  }
  for (const name of options.passEnv) {
    const value = options.serverEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Build a script's whole environment from nothing: the allow-list, the
 * request headers as HTTP_*, then the RFC 3875 4.1 meta-variables and the
 * common extras. Meta-variables are written last, so no request header and no
 * passed variable can set one (a header cannot become REMOTE_ADDR: it can only
 * ever be HTTP_REMOTE_ADDR).
 */
export function buildCgiEnv(req: CgiRequest, options: CgiEnvOptions): Record<string, string> {
  const env: Record<string, string> = { ...options.inherited };
  const headers = headerVariables(req, options.passAuthorization);
  for (const [key, value] of headers) env[key] = value;
  const contentType = findHeader(req.rawHeaders, 'content-type');
  const remoteAddr = plainAddress(req.remoteAddress);

  env.GATEWAY_INTERFACE = 'CGI/1.1';
  env.SERVER_SOFTWARE = options.serverSoftware;
  env.SERVER_PROTOCOL = `HTTP/${req.httpVersion}`;
  env.SERVER_NAME = serverName(req.host ?? headers.get('HTTP_HOST'), req.localAddress);
  env.SERVER_PORT = String(req.localPort);
  env.REQUEST_METHOD = req.method;
  env.REQUEST_URI = req.requestUri;
  env.QUERY_STRING = req.query;
  env.SCRIPT_NAME = req.scriptName;
  env.SCRIPT_FILENAME = req.scriptFilename;
  env.PATH_INFO = req.pathInfo;
  // RFC 3875 4.1.6: PATH_INFO mapped onto the document root, only when there is one.
  if (req.pathInfo !== '') env.PATH_TRANSLATED = req.documentRoot + req.pathInfo;
  env.DOCUMENT_ROOT = req.documentRoot;
  env.REMOTE_ADDR = remoteAddr;
  // RFC 3875 4.1.9: without a reverse lookup, the address stands in for the host name.
  env.REMOTE_HOST = remoteAddr;
  env.REMOTE_PORT = String(req.remotePort);
  env.AUTH_TYPE = req.authType ?? '';
  if (req.remoteUser !== undefined) env.REMOTE_USER = req.remoteUser;
  if (req.contentLength !== null) env.CONTENT_LENGTH = String(req.contentLength);
  if (contentType !== undefined) env.CONTENT_TYPE = contentType;
  if (req.tls) env.HTTPS = 'on';
  // Apache's and nginx's name for the scheme the client used; scripts build absolute URLs from it.
  env.REQUEST_SCHEME = req.tls ? 'https' : 'http';
  // php-cgi refuses to run without it (its force-cgi-redirect guard).
  env.REDIRECT_STATUS = '200';
  return env;
}

function findHeader(raw: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.length === lowerName.length && raw[i]!.toLowerCase() === lowerName) return raw[i + 1];
  }
  return undefined;
}
