/**
 * Headers the server adds to responses: `-H/--header` on every response, the
 * config file's `headers` per glob (serve.json's shape, matched with
 * picomatch), and the cross-origin headers of cors.ts. They are applied when
 * the response head is written, whatever step wrote it, so each step keeps
 * setting only its own headers:
 *
 * - on a script's response, and on error pages (status 400 and up), a header
 *   the response already has wins (a script's own header of the same name, an
 *   error page's Content-Type, CSP and `Cache-Control: no-store`);
 * - on the server's own successful answers (files, listings, redirects,
 *   preflights) a configured header replaces the server's default
 *   (`Cache-Control: max-age=3600` for `**\/*.js` is the point of the feature);
 * - `Access-Control-*` headers are only added when the response has none of
 *   that name, so a script that does CORS itself keeps its own, never doubled;
 * - `Vary` is merged, never replaced: `Vary: Origin` whenever an origin is
 *   allowed, beside the listing's `Vary: Accept` or a script's own.
 *
 * Names and values are checked once, at start-up: a value with CR, LF or
 * another control character, a name that is not a token, or a header that
 * would break the message framing is a one-line configuration error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type picomatch from 'picomatch';
import { lazy } from './lazy.js';

/** picomatch, loaded when the config file has header globs (lazy.ts). */
const globMatcher = lazy<typeof picomatch>('picomatch');
import { corsHeaders, isPreflight, type CorsPolicy } from './cors.js';
import { TOKEN } from './token.js';

/** One entry of the config file's `headers`: serve.json's shape. */
export interface HeaderRuleOptions {
  /** A glob over the URL path (`**\/*.js`, `/assets/**`), matched with picomatch; `**` is every path. */
  source: string;
  /** Header name → value. */
  headers: Record<string, string>;
}

/** A configuration error in the header options (config.ts wraps it as a ConfigError). */
export class HeaderConfigError extends Error {}

/** The server's own paths (live reload, webhook job status): they send no CORS headers (issue 17). */
export const RESERVED_PREFIX = '/.well-known/scriptserve/';

/** RFC 9110 5.5 field-value: visible characters, spaces, tabs and obs-text; never CR, LF, NUL or other controls. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/**
 * Headers that describe the message framing or the connection, which the
 * server must compute itself: a configured one would corrupt the response.
 */
const FRAMING = new Set([
  'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'trailer', 'te', 'proxy-connection',
  'content-range', 'host',
]);

/** A compiled rule: a path test and its headers. */
interface HeaderRule {
  readonly test: ((path: string) => boolean) | null;
  readonly headers: readonly (readonly [string, string])[];
}

/** `-H 'Name: value'` → a rule for every path; throws HeaderConfigError. */
export function parseHeaderSpec(spec: string): HeaderRuleOptions {
  const colon = spec.indexOf(':');
  if (colon <= 0) throw new HeaderConfigError(`--header takes 'Name: value', not ${JSON.stringify(spec)}`);
  return { source: '**', headers: { [spec.slice(0, colon).trim()]: spec.slice(colon + 1).trim() } };
}

/** Check one header; throws HeaderConfigError with a one-line reason. */
function checkHeader(name: string, value: unknown, where: string): void {
  if (!TOKEN.test(name)) throw new HeaderConfigError(`${where}: ${JSON.stringify(name)} is not a valid header name`);
  if (typeof value !== 'string') throw new HeaderConfigError(`${where}: the value of ${name} must be a string`);
  if (!FIELD_VALUE.test(value)) throw new HeaderConfigError(`${where}: the value of ${name} contains CR, LF or another control character`);
  const lower = name.toLowerCase();
  if (FRAMING.has(lower)) throw new HeaderConfigError(`${where}: ${name} is computed by the server and cannot be configured`);
  if (lower.startsWith('access-control-')) {
    throw new HeaderConfigError(`${where}: ${name} comes from the cross-origin options (--cors, --allow-origin, --cors-credentials, --cors-expose)`);
  }
}

/** Compile and check the rules, once. */
function compileRules(rules: readonly HeaderRuleOptions[]): HeaderRule[] {
  return rules.map((rule, i) => {
    const where = rule?.source === '**' && Object.keys(rule.headers ?? {}).length === 1 ? 'header' : `headers[${i}]`;
    if (typeof rule !== 'object' || rule === null || typeof rule.source !== 'string' || rule.source === '') {
      throw new HeaderConfigError(`${where}: each entry needs a "source" glob and a "headers" object`);
    }
    if (typeof rule.headers !== 'object' || rule.headers === null || Array.isArray(rule.headers)) {
      throw new HeaderConfigError(`${where}: "headers" must be an object of names and values`);
    }
    const headers = Object.entries(rule.headers);
    for (const [name, value] of headers) checkHeader(name, value, where);
    // Matched without the leading slash, so that `**/*.js` (and `/**/*.js`) match `/app.js`, as minimatch does in serve.
    const glob = rule.source.replace(/^\/+/, '');
    const test = glob === '**' ? null : globMatcher()(glob, { dot: true });
    return { test, headers };
  });
}

/** The file each response serves, when it serves one (see ResponseHeaders.servedFile). */
const servedFiles = new WeakMap<ServerResponse, string>();

/** Responses that carry a script's own head: its headers win over configured ones. */
const scriptResponses = new WeakSet<ServerResponse>();

/** Mark a response as a script's (or command route's): headers it sets itself win over configured ones. */
export function markScriptResponse(res: ServerResponse): void {
  scriptResponses.add(res);
}

/** The headers the server adds to responses, built once at start-up. */
export class ResponseHeaders {
  private readonly rules: HeaderRule[];
  /** Every rule applies to every path (only `-H`): no path to decode. */
  private readonly pathFree: boolean;

  constructor(
    private readonly cors: CorsPolicy,
    rules: readonly HeaderRuleOptions[],
  ) {
    this.rules = compileRules(rules);
    this.pathFree = this.rules.every((r) => r.test === null);
  }

  /** Is there anything to add? When not, responses are left alone (and the hot path untouched). */
  get active(): boolean {
    return this.cors.active || this.rules.length > 0;
  }

  /**
   * Arrange for this request's headers to be applied when its response head
   * is written. Globs match the path of the file served, when one is (see
   * {@link servedFile}: `/about` served from about.html matches `**\/*.html`,
   * as in serve), else `localPath`, the request's path below --base-path.
   */
  install(req: IncomingMessage, res: ServerResponse, localPath: string): void {
    // A preflight's answer is complete as cors.ts (or a script) writes it, and the server's reserved
    // paths (live reload, job status) are never shared cross-origin: only Vary is merged there.
    const cors = this.cors.active && !isPreflight(req) && !localPath.startsWith(RESERVED_PREFIX) ? corsHeaders(this.cors, req.headers.origin) : [];
    const varyOrigin = this.cors.active;
    onHead(res, () => {
      const yields = scriptResponses.has(res) || res.statusCode >= 400;
      for (const [name, value] of cors) if (!res.hasHeader(name)) res.setHeader(name, value);
      for (const [name, value] of this.configuredFor(servedFiles.get(res) ?? localPath)) {
        if (name.toLowerCase() === 'vary') mergeVary(res, value);
        else if (!yields || !res.hasHeader(name)) res.setHeader(name, value);
      }
      if (varyOrigin) mergeVary(res, 'Origin');
    });
  }

  /** The response serves this file (a URL path from the root, `/about.html`): configured globs match it. */
  servedFile(res: ServerResponse, path: string): void {
    if (!this.pathFree) servedFiles.set(res, path);
  }

  private configuredFor(localPath: string): (readonly [string, string])[] {
    if (this.rules.length === 0) return [];
    let path = '';
    if (!this.pathFree) {
      const q = localPath.indexOf('?');
      try {
        path = decodeURIComponent(q < 0 ? localPath : localPath.slice(0, q));
      } catch {
        path = '';
      }
    }
    const out: (readonly [string, string])[] = [];
    const relative = path.slice(1);
    for (const rule of this.rules) if (rule.test === null || (path !== '' && rule.test(relative))) out.push(...rule.headers);
    return out;
  }
}

/** Add tokens to `Vary` without repeating one (case-insensitive); `*` already varies on everything. */
export function mergeVary(res: ServerResponse, value: string): void {
  const current = res.getHeader('Vary');
  const existing = current === undefined ? [] : String(current).split(',').map((s) => s.trim()).filter(Boolean);
  const lower = new Set(existing.map((s) => s.toLowerCase()));
  if (lower.has('*')) return;
  const added = value.split(',').map((s) => s.trim()).filter((s) => s && !lower.has(s.toLowerCase()));
  if (added.length === 0) return;
  res.setHeader('Vary', [...existing, ...added].join(', '));
}

type HeadFields = Record<string, unknown> | readonly unknown[];

/**
 * Run `apply` just before the response head is written: explicit writeHead
 * calls, and the implicit one of write()/end() (which node:http and the
 * HTTP/2 compatibility layer both route through writeHead). Headers passed to
 * writeHead are moved to setHeader first, so `apply` sees every header the
 * response will carry.
 */
function onHead(res: ServerResponse, apply: () => void): void {
  const original = res.writeHead;
  let applied = false;
  res.writeHead = function writeHead(this: ServerResponse, status: number, ...rest: unknown[]): ServerResponse {
    const reason = typeof rest[0] === 'string' ? rest[0] : undefined;
    const fields = (reason === undefined ? rest[0] : rest[1]) as HeadFields | undefined;
    if (fields) moveFields(this, fields);
    this.statusCode = status;
    if (!applied) {
      applied = true;
      apply();
    }
    return reason === undefined ? original.call(this, status) : original.call(this, status, reason as never);
  } as typeof res.writeHead;
}

/** writeHead's headers argument (flat list, list of pairs, or object) as setHeader calls; a repeated name keeps every value. */
function moveFields(res: ServerResponse, fields: HeadFields): void {
  const pairs: [string, unknown][] = [];
  if (Array.isArray(fields)) {
    if (fields.length > 0 && Array.isArray(fields[0])) for (const [k, v] of fields as [string, unknown][]) pairs.push([k, v]);
    else for (let i = 0; i + 1 < fields.length; i += 2) pairs.push([String(fields[i]), fields[i + 1]]);
  } else {
    for (const [k, v] of Object.entries(fields)) pairs.push([k, v]);
  }
  const grouped = new Map<string, { name: string; values: string[] }>();
  for (const [name, value] of pairs) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const entry = grouped.get(key) ?? { name, values: [] };
    grouped.set(key, entry);
    if (Array.isArray(value)) entry.values.push(...value.map(String));
    else entry.values.push(String(value));
  }
  for (const { name, values } of grouped.values()) res.setHeader(name, values.length === 1 ? values[0]! : values);
}
