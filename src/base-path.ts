/**
 * `--base-path /app` (miniserve's `--route-prefix`): everything the server
 * answers lives below the prefix. The prefix is taken off the request target
 * once, at the top of the pipeline (`RequestContext.url`), so every later
 * step (built-in endpoints, rules, resolve) works on the local path; what
 * goes back to the client (redirects, listings' titles, `SCRIPT_NAME`) puts
 * it back. `REQUEST_URI` stays the target as received.
 */

/** The result of {@link belowBasePath}: the local target, the prefix without its slash, or outside. */
export type BasePathMatch =
  | { readonly kind: 'inside'; readonly url: string }
  | { readonly kind: 'slash'; readonly location: string }
  | { readonly kind: 'outside' };

const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;
const OUTSIDE: BasePathMatch = { kind: 'outside' };

/**
 * Where a request target falls against the base path (`/app`, already
 * percent-encoded, no trailing slash): `/app/x?q` is `/x?q` inside; `/app`
 * and `/app?q` are redirected to `/app/`; anything else is outside (404).
 * The comparison is on the raw target, case-sensitive, as a path prefix is.
 */
export function belowBasePath(base: string, target: string): BasePathMatch {
  if (target === '*') return { kind: 'inside', url: target };
  let path = target;
  if (path.charCodeAt(0) !== 47 /* / */) {
    const m = ABSOLUTE_FORM.exec(path);
    if (!m) return OUTSIDE;
    path = path.slice(m[0].length);
    if (path === '' || path.charCodeAt(0) === 63 /* ? */) path = '/' + path;
  }
  if (!path.startsWith(base)) return OUTSIDE;
  const rest = path.slice(base.length);
  if (rest === '' || rest.charCodeAt(0) === 63) return { kind: 'slash', location: base + '/' + rest };
  if (rest.charCodeAt(0) !== 47) return OUTSIDE; // `/application` is not below `/app`
  return { kind: 'inside', url: rest };
}

/** A script's local redirect (`Location: /app/x`) as a local target: the prefix taken off when present. */
export function localLocation(base: string, location: string): string {
  if (base === '' || !location.startsWith(base + '/')) return location;
  return location.slice(base.length);
}
