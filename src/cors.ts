/**
 * Cross-origin resource sharing, the Fetch standard's CORS protocol
 * (https://fetch.spec.whatwg.org/#http-cors-protocol), as one model:
 *
 * - `--allow-origin ORIGIN` (exact, or `https://*.example.com`) lets that
 *   origin make unsafe requests (the CSRF check in access.ts) and read the
 *   answers: its responses carry `Access-Control-Allow-Origin: <origin>`.
 * - `--cors` lets any origin in: `Access-Control-Allow-Origin: *`, never
 *   with credentials. With both, listed origins get their own origin back.
 * - `--cors-credentials` adds `Access-Control-Allow-Credentials: true` for
 *   listed origins only; `--cors-expose` sets `Access-Control-Expose-Headers`.
 * - Whenever any origin is allowed, every response carries `Vary: Origin`.
 * - Preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
 *   are answered here, before authentication, and never reach a script or
 *   route unless `--scripts-answer-preflight` hands them over.
 *
 * The response headers are applied by response-headers.ts, which lets a
 * script's own `Access-Control-*` headers stand (never duplicated).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AccessConfigError, normalizeOrigin, type OriginMatcher } from './access.js';
import { HttpError } from './errors.js';
import { TOKEN } from './token.js';

/** How long a browser may cache a preflight's answer (Chromium caps it at 7200 s). */
export const PREFLIGHT_MAX_AGE_S = 600;

/** The cross-origin policy, built once at start-up. */
export interface CorsPolicy {
  /** `--cors`: any origin, answered with `*`. */
  readonly any: boolean;
  /** `--allow-origin`: origins (and patterns) answered with their own origin. */
  readonly origins: OriginList;
  /** `--cors-credentials`: `Access-Control-Allow-Credentials: true` for listed origins. */
  readonly credentials: boolean;
  /** `--cors-expose`: the value of `Access-Control-Expose-Headers`, or null. */
  readonly expose: string | null;
  /** `--scripts-answer-preflight`: preflights to scripts and routes go to them. */
  readonly scriptsAnswerPreflight: boolean;
  /** Some origin is allowed: every response carries `Vary: Origin`. */
  readonly active: boolean;
}

/**
 * The allowed origins: exact ones, and patterns whose first host label is `*`
 * (`https://*.example.com` matches `https://a.example.com` and
 * `https://a.b.example.com`, never `https://example.com` nor another scheme
 * or port).
 */
export class OriginList implements OriginMatcher {
  private readonly exact = new Set<string>();
  /** [`https://`, `.example.com`] pairs. */
  private readonly patterns: [string, string][] = [];

  constructor(specs: readonly string[]) {
    for (const spec of specs) this.add(spec);
  }

  get size(): number {
    return this.exact.size + this.patterns.length;
  }

  private add(spec: string): void {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/\*\.(.+)$/.exec(spec);
    if (!m) {
      if (spec.includes('*')) throw new AccessConfigError(`origin pattern must look like https://*.example.com, not ${JSON.stringify(spec)}`);
      this.exact.add(normalizeOrigin(spec));
      return;
    }
    if (/[/*@?#\\]/.test(m[2]!)) throw new AccessConfigError(`origin pattern must be scheme://*.host[:port], not ${JSON.stringify(spec)}`);
    // Normalized as a real origin would be: lower case, default port dropped.
    const sample = normalizeOrigin(`${m[1]}://x.${m[2]}`);
    const scheme = sample.slice(0, sample.indexOf('://') + 3);
    this.patterns.push([scheme, sample.slice(scheme.length + 1)]);
  }

  /** Is this request `Origin` (as the browser sent it) allowed? */
  has(origin: string): boolean {
    const o = origin.toLowerCase();
    if (this.exact.has(o)) return true;
    for (const [scheme, suffix] of this.patterns) {
      if (!o.startsWith(scheme) || !o.endsWith(suffix)) continue;
      const labels = o.slice(scheme.length, o.length - suffix.length);
      if (/^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(labels)) return true;
    }
    return false;
  }
}

/** The policy from the options; throws AccessConfigError (a one-line ConfigError at start-up) for a bad value or combination. */
export function corsPolicy(options: {
  cors?: boolean;
  allowOrigins?: readonly string[];
  corsCredentials?: boolean;
  corsExpose?: readonly string[];
  scriptsAnswerPreflight?: boolean;
}): CorsPolicy {
  const origins = new OriginList(options.allowOrigins ?? []);
  const credentials = options.corsCredentials ?? false;
  if (credentials && origins.size === 0) {
    throw new AccessConfigError('--cors-credentials needs --allow-origin: credentials are never allowed for any origin (*)');
  }
  const expose = options.corsExpose ?? [];
  for (const name of expose) {
    if (!TOKEN.test(name)) throw new AccessConfigError(`--cors-expose takes header names, not ${JSON.stringify(name)}`);
  }
  const any = options.cors ?? false;
  return {
    any,
    origins,
    credentials,
    expose: expose.length > 0 ? expose.join(', ') : null,
    scriptsAnswerPreflight: options.scriptsAnswerPreflight ?? false,
    active: any || origins.size > 0,
  };
}

/** A CORS preflight (Fetch: an OPTIONS request with `Origin` and `Access-Control-Request-Method`). */
export function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
}

/**
 * The `Access-Control-*` headers of an ordinary (not preflight) response for
 * a request from `origin`; empty when the origin may not read the answer.
 * `Vary: Origin` is the caller's (it is merged, not set).
 */
export function corsHeaders(policy: CorsPolicy, origin: string | undefined): [string, string][] {
  const out: [string, string][] = [];
  if (origin !== undefined && policy.origins.has(origin)) {
    out.push(['Access-Control-Allow-Origin', origin]);
    if (policy.credentials) out.push(['Access-Control-Allow-Credentials', 'true']);
  } else if (policy.any) {
    out.push(['Access-Control-Allow-Origin', '*']);
  } else {
    return out;
  }
  if (policy.expose !== null) out.push(['Access-Control-Expose-Headers', policy.expose]);
  return out;
}

/**
 * Answer a preflight: 204 with the headers the browser checks, for an allowed
 * origin; otherwise 403 with a one-line reason. `allow` is the target's Allow
 * set, found without running anything. Nothing here reads credentials: a
 * browser never sends them with a preflight.
 */
export function answerPreflight(req: IncomingMessage, res: ServerResponse, policy: CorsPolicy, allow: string): void {
  const origin = req.headers.origin!;
  const listed = policy.origins.has(origin);
  refuseUnlessAllowed(policy, origin);
  res.statusCode = 204;
  res.setHeader('Access-Control-Allow-Origin', listed ? origin : '*');
  if (listed && policy.credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader('Access-Control-Allow-Methods', allow);
  const requested = requestedHeaders(req.headers['access-control-request-headers']);
  if (requested) res.setHeader('Access-Control-Allow-Headers', requested);
  res.setHeader('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S));
  // Private Network Access (https://wicg.github.io/private-network-access/): a public page asking for a local server.
  if (req.headers['access-control-request-private-network'] === 'true') res.setHeader('Access-Control-Allow-Private-Network', 'true');
  res.setHeader('Vary', 'Origin');
  res.end();
}

/** 403 with a one-line reason for a preflight from an origin that may not make cross-origin requests. */
export function refuseUnlessAllowed(policy: CorsPolicy, origin: string): void {
  if (policy.any || policy.origins.has(origin)) return;
  throw new HttpError(403, {
    publicMessage: 'Cross-origin request refused: this origin is not allowed (see --allow-origin and --cors).',
    logMessage: `preflight refused for origin ${origin}`,
  });
}

/** `Access-Control-Request-Headers` as a clean comma list of tokens, or null (absent, empty or malformed). */
function requestedHeaders(value: string | undefined): string | null {
  if (value === undefined) return null;
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0 || !names.every((n) => TOKEN.test(n))) return null;
  return names.join(', ');
}
