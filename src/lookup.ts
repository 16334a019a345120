/**
 * The lookup order around the resolver, for a request whose path names
 * nothing (issue 19, and issue 17's 404 page):
 *
 *   command route or script → existing file or directory (resolve.ts)
 *   → the config file's rewrites → `--ext` → `--spa` → `404.html` → 404
 *
 * Every alias is looked up through the resolver again, as if it had been
 * asked for, so none can bypass the dotfile, symlink, server-code or
 * script-directory rules; and an alias is only taken when it is a file
 * (never a script, route or directory). Paths in a script directory, paths a
 * command route covers and hidden (dot) paths get no `--ext` or SPA alias.
 */
import type { IncomingMessage } from 'node:http';
import type { Config } from './config.js';
import { HttpError } from './errors.js';
import { ConfigError } from './option-spec.js';
import { encodePath, parseRequestTarget, type RequestPath } from './request-path.js';
import { routeMatchesPath, type Resolver, type Target } from './resolve.js';
import { loopDetected, MAX_RULE_STEPS, type UrlRules } from './rewrite.js';
import { scriptDirectoryOf } from './server-code.js';
import type { FileInfo } from './static/serve-file.js';

/** The file served, with status 404, for GET and HEAD misses (http-server's convention). */
export const NOT_FOUND_PAGE = '/404.html';

/** What the lookup adds to the resolver's targets: the 404 page. */
export type LookupTarget = Target | { readonly kind: 'not-found-page'; readonly file: FileInfo };

const NOT_FOUND: Target = { kind: 'not-found' };

/** The aliases a miss may be answered with, from the configuration. */
export interface LookupOptions {
  /** `--ext html`: `/about` serves `about.html` (cleanUrls implies `html`). */
  readonly ext: string | null;
  /** `--spa [FILE]`: the root-relative URL path of the app's page, e.g. `/index.html`. */
  readonly spa: string | null;
}

/** The resolver with the misses' aliases in front; built once at start-up. */
export class Lookup {
  constructor(
    private readonly config: Config,
    private readonly resolver: Resolver,
    private readonly rules: UrlRules | null,
    private readonly options: LookupOptions,
  ) {}

  /**
   * The target of a (local) URL. Synchronous when the resolver's cache knows
   * both the URL and the 404 page (the hot 404 stays free of promises).
   */
  resolve(url: string, method: string, req: IncomingMessage): LookupTarget | Promise<LookupTarget> {
    const first = this.resolver.resolve(url, method);
    if (first instanceof Promise) return first.then((t) => (t.kind === 'not-found' ? this.miss(url, method, req) : t), (err) => this.missOrThrow(err, url, method, req));
    if (first.kind !== 'not-found') return first;
    return this.miss(url, method, req);
  }

  private missOrThrow(err: unknown, url: string, method: string, req: IncomingMessage): Promise<LookupTarget> | LookupTarget {
    if (err instanceof HttpError && err.status === 404) return this.miss(url, method, req);
    throw err;
  }

  /** A miss: rewrites, then the aliases, then the 404 page. */
  private miss(url: string, method: string, req: IncomingMessage): LookupTarget | Promise<LookupTarget> {
    const getOrHead = method === 'GET' || method === 'HEAD';
    if (!this.rules?.hasRewrites && !(getOrHead && (this.options.ext || this.options.spa))) {
      return getOrHead ? this.notFoundPage() : NOT_FOUND;
    }
    return this.aliases(url, method, req);
  }

  private async aliases(url: string, method: string, req: IncomingMessage): Promise<LookupTarget> {
    const rewritten = await this.rewrite(url, method);
    if (rewritten) return rewritten;
    if (method !== 'GET' && method !== 'HEAD') return NOT_FOUND;
    const path = parseRequestTarget(url);
    if (path.canonical && !this.exempt(path) && !this.hidden(path)) {
      const last = path.segments[path.segments.length - 1];
      if (this.options.ext && last !== undefined && !path.trailingSlash) {
        const file = await this.fileAt(encodePath(path.segments, false) + '.' + this.options.ext);
        if (file) return file;
      }
      if (this.options.spa && (last === undefined || !hasExtension(last)) && acceptsHtml(req)) {
        const file = await this.fileAt(this.options.spa);
        if (file) return file;
      }
    }
    return this.notFoundPage();
  }

  /**
   * Follow rewrites while the path they lead to names nothing, up to
   * MAX_RULE_STEPS; a path seen twice is a loop (508). A rewrite's target
   * may be a file, a directory, a script or a route, and fails as itself.
   */
  private async rewrite(url: string, method: string): Promise<Target | null> {
    if (!this.rules?.hasRewrites) return null;
    const seen = new Set<string>([url]);
    let current = url;
    for (let step = 1; ; step++) {
      const next = this.rules.rewriteOnce(current);
      if (next === null || next === current) return step === 1 ? null : NOT_FOUND;
      if (step > MAX_RULE_STEPS || seen.has(next)) throw loopDetected('rewrite', url);
      seen.add(next);
      current = next;
      try {
        const target = await this.resolver.resolve(next, method);
        if (target.kind !== 'not-found') return target;
      } catch (err) {
        if (!(err instanceof HttpError) || err.status !== 404) throw err;
      }
    }
  }

  /** The 404 page when the root has one (GET and HEAD); else the plain 404. */
  private notFoundPage(): LookupTarget | Promise<LookupTarget> {
    let page: Target | Promise<Target>;
    try {
      page = this.resolver.resolve(NOT_FOUND_PAGE, 'GET');
    } catch {
      return NOT_FOUND;
    }
    const asPage = (t: Target): LookupTarget => (t.kind === 'file' ? { kind: 'not-found-page', file: t.file } : NOT_FOUND);
    return page instanceof Promise ? page.then(asPage, () => NOT_FOUND) : asPage(page);
  }

  /** The file target at a local URL, or null (anything else, or any failure, is no alias). */
  private async fileAt(url: string): Promise<Target | null> {
    try {
      const target = await this.resolver.resolve(url, 'GET');
      return target.kind === 'file' ? target : null;
    } catch {
      return null;
    }
  }

  /** A script directory or a command route: no alias, ever (`/cgi-bin/missing.py` stays 404). */
  private exempt(path: RequestPath): boolean {
    return isScriptOrRoutePath(this.config, path);
  }

  /** A hidden (dot) segment while dotfiles are hidden: answered as the 404 it is. */
  private hidden(path: RequestPath): boolean {
    return this.config.dotfiles === 'ignore' && path.segments.some((s) => s.charCodeAt(0) === 46);
  }
}

/** Does the path lead into a script directory (any case), or does a command route cover it? */
export function isScriptOrRoutePath(config: Pick<Config, 'routes' | 'cgiEnabled' | 'cgiDirs'>, path: RequestPath): boolean {
  if (config.routes.some((r) => routeMatchesPath(r, path))) return true;
  return scriptDirectoryOf(config, path.segments) !== undefined;
}

/** `app.js`, `logo.png`: a last segment with a file extension (asset-like misses stay 404). */
function hasExtension(segment: string): boolean {
  const dot = segment.lastIndexOf('.');
  return dot > 0 && dot < segment.length - 1;
}

/** Does the client ask for HTML by name (a browser navigation)? `*\/*` alone (fetch, curl) does not count. */
function acceptsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  if (accept === undefined) return false;
  return accept.split(',').some((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (type !== 'text/html' && type !== 'application/xhtml+xml') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** `--spa FILE` as a root-relative URL path; throws a one-line ConfigError. */
export function spaPath(file: string): string {
  const segments = file.split(/[/\\]/).filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.some((s) => s === '..') || file.includes('\0')) {
    throw new ConfigError(`--spa takes a file inside the root such as index.html, not ${JSON.stringify(file)}`);
  }
  return encodePath(segments, false);
}
