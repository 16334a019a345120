/**
 * The config file's `redirects` and `rewrites` (serve.json's shape) and
 * `cleanUrls`, as pure URL → URL rules; lookup.ts and the pipeline apply
 * them. Sources are path-to-regexp patterns written as serve.json writes
 * them (`/old/:path*`, `/user/:id`, `/docs/:page?`, `/assets/**`), translated
 * to path-to-regexp 8+'s syntax; destinations name the same parameters.
 *
 * Safety rules, each a test in test/web.test.mjs:
 * - a destination built from captured segments is a local path starting with
 *   exactly one `/` (never `//evil.example`), unless the user wrote an
 *   absolute URL (`https://…`) as the destination;
 * - captured values are percent-encoded segment by segment, so a capture can
 *   add neither a `?` nor a `..` step; rewrite destinations are checked at
 *   start-up (local, no `.` or `..` segment), and the rewritten URL is parsed
 *   again like any request (request-path.ts refuses `..`);
 * - a chain of rules stops after {@link MAX_RULE_STEPS} steps or when it
 *   comes back to a path it has seen: 508 Loop Detected, with a log line.
 */
import type { MatchFunction } from 'path-to-regexp';
import { lazy } from './lazy.js';

/** path-to-regexp, loaded when the config file has redirects or rewrites (lazy.ts). */
const pathToRegexp = lazy<typeof import('path-to-regexp')>('path-to-regexp');
import { HttpError } from './errors.js';
import { encodePath, encodeSegment, parseRequestTarget, type RequestPath } from './request-path.js';

/** At most this many redirects and rewrites for one request; more is a loop (508). */
export const MAX_RULE_STEPS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DEFAULT_REDIRECT_STATUS = 301;

/** One entry of `redirects`: serve.json's shape. */
export interface RedirectRuleOptions {
  source: string;
  destination: string;
  /** 301 (default), 302, 303, 307 or 308. */
  status?: number;
}

/** One entry of `rewrites`: serve.json's shape. The destination is a local path. */
export interface RewriteRuleOptions {
  source: string;
  destination: string;
}

/** A configuration error in the rules (config.ts wraps it as a ConfigError). */
export class RuleConfigError extends Error {}

interface Rule {
  readonly source: string;
  readonly test: MatchFunction<Record<string, string | string[]>>;
  readonly destination: string;
  readonly absolute: boolean;
  readonly status: number;
  /** The source's parameter names: only these are filled in the destination. */
  readonly names: ReadonlySet<string>;
}

/** A redirect to answer: `location` is local (below --base-path) unless `absolute`. */
export interface RedirectOutcome {
  readonly location: string;
  readonly absolute: boolean;
  readonly status: number;
}

const PARAM_SEGMENT = /^:([A-Za-z_$][\w$]*)([*+?])?$/;

/**
 * serve.json's pattern syntax (path-to-regexp 2.x: `:name`, `:name?`,
 * `:name*`, `:name+`, and `*`/`**` for "anything") in path-to-regexp 8+'s
 * (`:name`, `{/:name}`, `{/*name}`, `/*name`).
 */
export function translateSource(source: string): string {
  if (!source.startsWith('/')) source = '/' + source;
  let wild = 0;
  let out = '';
  for (const segment of source.split('/').slice(1)) {
    if (segment === '**' || segment === '*') {
      out += `{/*__any${wild++}}`;
      continue;
    }
    const m = PARAM_SEGMENT.exec(segment);
    if (m) {
      const [, name, modifier] = m;
      out += modifier === '*' ? `{/*${name}}` : modifier === '+' ? `/*${name}` : modifier === '?' ? `{/:${name}}` : `/:${name}`;
      continue;
    }
    // Literal text (path-to-regexp's special characters escaped), with `:name` parameters and `*` wildcards inside a segment (`/:file.html`, `/*.js`).
    out += '/' + segment.replace(/:([A-Za-z_$][\w$]*)|\*|([(){}[\]+?!\\:])/g, (_all, name: string | undefined, special: string | undefined) => {
      if (name !== undefined) return `:${name}`;
      if (special !== undefined) return '\\' + special;
      return `*__any${wild++}`;
    });
  }
  return out === '' ? '/' : out;
}

function compileRule(kind: 'redirects' | 'rewrites', rule: RedirectRuleOptions, i: number): Rule {
  const where = `${kind}[${i}]`;
  if (typeof rule !== 'object' || rule === null || typeof rule.source !== 'string' || typeof rule.destination !== 'string') {
    throw new RuleConfigError(`${where}: each entry needs a "source" and a "destination" string`);
  }
  let test: Rule['test'];
  const translated = translateSource(rule.source);
  const names = new Set([...translated.matchAll(/[:*]([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!));
  try {
    test = pathToRegexp().match(translated, { decode: decodeURIComponent });
  } catch (err) {
    throw new RuleConfigError(`${where}: invalid source ${JSON.stringify(rule.source)}: ${(err as Error).message.split('\n')[0]}`);
  }
  const dest = rule.destination;
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(dest);
  if (/[\0-\x1f\x7f]/.test(dest)) throw new RuleConfigError(`${where}: the destination contains a control character`);
  if (!absolute) {
    if (!dest.startsWith('/') || dest.startsWith('//') || dest.includes('\\')) {
      throw new RuleConfigError(`${where}: the destination must be a path starting with one / or an absolute URL such as https://example.com/, not ${JSON.stringify(dest)}`);
    }
    const path = dest.split(/[?#]/)[0]!;
    if (path.split('/').some((s) => s === '..' || s === '.' || /^%2e%2e$/i.test(s) || /^%2e$/i.test(s))) {
      throw new RuleConfigError(`${where}: the destination must not contain . or .. segments: ${JSON.stringify(dest)}`);
    }
  } else if (kind === 'rewrites') {
    throw new RuleConfigError(`${where}: a rewrite is internal, so its destination must be a local path, not ${JSON.stringify(dest)} (use redirects)`);
  }
  const status = (rule as RedirectRuleOptions).status ?? DEFAULT_REDIRECT_STATUS;
  if (kind === 'redirects' && !REDIRECT_STATUSES.has(status)) {
    throw new RuleConfigError(`${where}: status must be 301, 302, 303, 307 or 308, not ${JSON.stringify(status)}`);
  }
  for (const [, name] of dest.matchAll(/:([A-Za-z_$][\w$]*)/g)) {
    if (!names.has(name!)) throw new RuleConfigError(`${where}: the destination names :${name}, which the source does not capture`);
  }
  return { source: rule.source, test, destination: dest, absolute, status, names };
}

/**
 * A destination with the captured parameters put in: each captured segment
 * percent-encoded, so captures add only path segments. A local result starts
 * with exactly one `/` and has no empty segments.
 */
export function buildDestination(rule: Pick<Rule, 'destination' | 'absolute' | 'names'>, params: Record<string, string | string[] | undefined>, query: string): string {
  // An empty capture takes its slash with it: `/new/:path*` of `/old` is `/new`.
  const filled = rule.destination.replace(/(\/?):([A-Za-z_$][\w$]*)[*+?]?/g, (all, slash: string, name: string) => {
    if (!rule.names.has(name)) return all;
    const value = params[name];
    const segments = value === undefined ? [] : Array.isArray(value) ? value : [value];
    if (segments.length === 0 || (segments.length === 1 && segments[0] === '')) return '';
    return slash + segments.map(encodeSegment).join('/');
  });
  let out = filled;
  if (!rule.absolute) {
    const q = out.search(/[?#]/);
    const path = q < 0 ? out : out.slice(0, q);
    const rest = q < 0 ? '' : out.slice(q);
    out = '/' + path.split('/').filter((s) => s !== '').join('/') + (path.endsWith('/') && path.length > 1 ? '/' : '') + rest;
    out = out.replace(/^\/+/, '/');
  }
  if (query !== '' && !out.includes('?')) out += '?' + query;
  return out;
}

/** Is a path exempt from cleanUrls (a script directory, a command route)? */
export type Exempt = (path: RequestPath) => boolean;

/** The compiled rules, built once at start-up. */
export class UrlRules {
  private readonly redirects: Rule[];
  private readonly rewrites: Rule[];

  constructor(options: { redirects?: readonly RedirectRuleOptions[]; rewrites?: readonly RewriteRuleOptions[]; cleanUrls?: boolean }) {
    this.redirects = (options.redirects ?? []).map((r, i) => compileRule('redirects', r, i));
    this.rewrites = (options.rewrites ?? []).map((r, i) => compileRule('rewrites', r as RedirectRuleOptions, i));
    this.cleanUrls = options.cleanUrls ?? false;
  }

  readonly cleanUrls: boolean;

  get hasRedirects(): boolean {
    return this.redirects.length > 0 || this.cleanUrls;
  }

  get hasRewrites(): boolean {
    return this.rewrites.length > 0;
  }

  /**
   * The redirect for a local URL, if a rule (or cleanUrls) sends it
   * elsewhere. The chain of local redirects that follows is walked here too,
   * so a loop is a 508 now rather than a browser's "too many redirects".
   * `exempt` says which paths cleanUrls leaves alone (the current routes').
   */
  redirectFor(url: string, method: string, exempt: Exempt): RedirectOutcome | null {
    const first = this.redirectStep(url, method, exempt);
    if (first === null || first.absolute) return first;
    const seen = new Set([pathKey(url)]);
    let current: RedirectOutcome | null = first;
    for (let step = 1; current !== null && !current.absolute; step++) {
      const key = pathKey(current.location);
      if (step >= MAX_RULE_STEPS || seen.has(key)) throw loopDetected('redirect', url);
      seen.add(key);
      current = this.redirectStep(current.location, current.status === 303 ? 'GET' : method, exempt);
    }
    return first;
  }

  /** One rewrite step for a local URL that resolved to nothing: the URL to try instead, or null. */
  rewriteOnce(url: string): string | null {
    const path = parseRequestTarget(url);
    if (!path.canonical) return null;
    const pathString = encodePath(path.segments, path.trailingSlash);
    for (const rule of this.rewrites) {
      const m = rule.test(pathString);
      if (m) return buildDestination(rule, m.params, path.query);
    }
    return null;
  }

  private redirectStep(url: string, method: string, exempt: Exempt): RedirectOutcome | null {
    let path: RequestPath;
    try {
      path = parseRequestTarget(url);
    } catch {
      return null; // The resolver answers a malformed path with its own status.
    }
    if (!path.canonical) return null;
    const pathString = encodePath(path.segments, path.trailingSlash);
    for (const rule of this.redirects) {
      const m = rule.test(pathString);
      if (m) return { location: buildDestination(rule, m.params, path.query), absolute: rule.absolute, status: rule.status };
    }
    if (this.cleanUrls && (method === 'GET' || method === 'HEAD') && !exempt(path)) return cleanRedirect(path);
    return null;
  }

}

/** cleanUrls (as serve does): `/about.html` → `/about`, `/docs/index.html` → `/docs/`, 301. */
function cleanRedirect(path: RequestPath): RedirectOutcome | null {
  const last = path.segments[path.segments.length - 1];
  if (last === undefined || path.trailingSlash || !/\.html$/i.test(last)) return null;
  const stem = last.slice(0, -'.html'.length);
  if (stem === '' || stem.startsWith('.')) return null;
  const parent = path.segments.slice(0, -1);
  const location = stem === 'index' ? encodePath(parent, true) : encodePath([...parent, stem], false);
  return { location: location + (path.query ? '?' + path.query : ''), absolute: false, status: 301 };
}

/** A URL's path, for loop detection. */
function pathKey(url: string): string {
  const q = url.search(/[?#]/);
  return q < 0 ? url : url.slice(0, q);
}

/** 508 Loop Detected (RFC 5842 7.2), logged with where the loop began. */
export function loopDetected(kind: 'redirect' | 'rewrite', url: string): HttpError {
  return new HttpError(508, {
    publicMessage: `The server's ${kind} rules loop for this address.`,
    logMessage: `${kind} loop (more than ${MAX_RULE_STEPS} steps or a path seen twice) starting at ${url}`,
  });
}
