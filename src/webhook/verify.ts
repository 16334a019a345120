import { createHash, createHmac, timingSafeEqual, type Hmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

// Webhook signatures, as each provider documents them. Everything here is
// pure: the secret is given, the body arrives chunk by chunk (it is spooled,
// never held whole), and the caller decides what a failure answers (403).

/** How a route checks that a delivery comes from its sender, as written in scriptserve.json. */
export type VerifySpec =
  | { type: 'hmac-sha256' | 'hmac-sha1' | 'hmac-sha512'; header: string; prefix?: string }
  | { type: 'token'; header: string }
  | { type: 'stripe'; tolerance?: number }
  | { type: 'slack'; tolerance?: number };

/** Seconds a Stripe or Slack timestamp may differ from the server's clock (both providers document 5 minutes). */
export const DEFAULT_TOLERANCE_S = 300;

/** One delivery being checked: feed it the raw body, then ask for the verdict. */
export interface Check {
  update(chunk: Buffer): void;
  /** null when the signature is good, else the reason it is refused (for the log). */
  verdict(): string | null;
}

/** A check for one request, or the reason it is refused before its body is read (a missing header, a stale timestamp). */
export type Verifier = (headers: IncomingHttpHeaders, nowSeconds: number) => Check | string;

const HMAC_ALGORITHMS = { 'hmac-sha256': 'sha256', 'hmac-sha1': 'sha1', 'hmac-sha512': 'sha512' } as const;

/** Build the verifier for a spec and its secret (already read from the environment or a file). */
export function createVerifier(spec: VerifySpec, secret: Buffer): Verifier {
  switch (spec.type) {
    case 'hmac-sha256':
    case 'hmac-sha1':
    case 'hmac-sha512':
      return hmacVerifier(HMAC_ALGORITHMS[spec.type], spec.header, spec.prefix ?? '', secret);
    case 'token':
      return tokenVerifier(spec.header, secret);
    case 'stripe':
      return stripeVerifier(secret, spec.tolerance ?? DEFAULT_TOLERANCE_S);
    case 'slack':
      return slackVerifier(secret, spec.tolerance ?? DEFAULT_TOLERANCE_S);
  }
}

/** GitHub (`X-Hub-Signature-256: sha256=<hex>`) and the many senders that copy it: hex HMAC of the raw body. */
function hmacVerifier(algorithm: string, header: string, prefix: string, secret: Buffer): Verifier {
  return (headers) => {
    const value = single(headers, header);
    if (value === undefined) return `no ${header} header`;
    if (!value.startsWith(prefix)) return `${header} does not start with ${JSON.stringify(prefix)}`;
    const given = hexBytes(value.slice(prefix.length));
    if (!given) return `${header} is not a hex digest`;
    return hmacCheck(createHmac(algorithm, secret), [given], `${header} does not match the body`);
  };
}

/** GitLab (`X-Gitlab-Token`): a shared token in a header, compared in constant time; the body is not signed. */
function tokenVerifier(header: string, secret: Buffer): Verifier {
  const want = createHash('sha256').update(secret).digest();
  return (headers) => {
    const value = single(headers, header);
    if (value === undefined) return `no ${header} header`;
    const ok = timingSafeEqual(createHash('sha256').update(value).digest(), want);
    return ok ? { update: () => {}, verdict: () => null } : `${header} is wrong`;
  };
}

/**
 * Stripe (`Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]`): HMAC-SHA256 of
 * `<t>.<body>`; any v1 signature may match (Stripe sends several while a
 * secret is rolled); `t` must be within the tolerance.
 */
function stripeVerifier(secret: Buffer, tolerance: number): Verifier {
  return (headers, now) => {
    const value = single(headers, 'stripe-signature');
    if (value === undefined) return 'no Stripe-Signature header';
    let t: string | undefined;
    const signatures: Buffer[] = [];
    for (const part of value.split(',')) {
      const eq = part.indexOf('=');
      const key = part.slice(0, eq).trim();
      const v = part.slice(eq + 1).trim();
      if (key === 't') t = v;
      else if (key === 'v1') {
        const bytes = hexBytes(v);
        if (bytes) signatures.push(bytes);
      }
    }
    if (t === undefined || !/^\d{1,12}$/.test(t)) return 'Stripe-Signature has no timestamp';
    if (signatures.length === 0) return 'Stripe-Signature has no v1 signature';
    const stale = staleness(Number(t), now, tolerance);
    if (stale) return `Stripe-Signature timestamp ${stale}`;
    return hmacCheck(createHmac('sha256', secret).update(`${t}.`), signatures, 'Stripe-Signature does not match the body');
  };
}

/**
 * Slack (`X-Slack-Signature: v0=<hex>`, `X-Slack-Request-Timestamp: <unix>`):
 * HMAC-SHA256 of `v0:<timestamp>:<body>`; the timestamp must be within the tolerance.
 */
function slackVerifier(secret: Buffer, tolerance: number): Verifier {
  return (headers, now) => {
    const signature = single(headers, 'x-slack-signature');
    const timestamp = single(headers, 'x-slack-request-timestamp');
    if (signature === undefined) return 'no X-Slack-Signature header';
    if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return 'no valid X-Slack-Request-Timestamp header';
    if (!signature.startsWith('v0=')) return 'X-Slack-Signature is not a v0 signature';
    const given = hexBytes(signature.slice(3));
    if (!given) return 'X-Slack-Signature is not a hex digest';
    const stale = staleness(Number(timestamp), now, tolerance);
    if (stale) return `X-Slack-Request-Timestamp ${stale}`;
    return hmacCheck(createHmac('sha256', secret).update(`v0:${timestamp}:`), [given], 'X-Slack-Signature does not match the body');
  };
}

function hmacCheck(hmac: Hmac, candidates: readonly Buffer[], failure: string): Check {
  return {
    update: (chunk) => void hmac.update(chunk),
    verdict: () => {
      const digest = hmac.digest();
      // Every candidate is compared, so the time taken does not depend on which one matched.
      let ok = false;
      for (const c of candidates) if (c.length === digest.length && timingSafeEqual(c, digest)) ok = true;
      return ok ? null : failure;
    },
  };
}

/** Why a timestamp is refused (too old, in the future), or null when it is within the tolerance. */
function staleness(timestamp: number, now: number, tolerance: number): string | null {
  if (now - timestamp > tolerance) return `is ${Math.round(now - timestamp)} s old (tolerance ${tolerance} s)`;
  if (timestamp - now > tolerance) return `is ${Math.round(timestamp - now)} s in the future (tolerance ${tolerance} s)`;
  return null;
}

/** The header's value (node:http joins a repeated one with `, `, which no check accepts). */
function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return typeof value === 'string' ? value.trim() : undefined;
}

function hexBytes(text: string): Buffer | null {
  return /^(?:[0-9a-fA-F]{2})+$/.test(text) ? Buffer.from(text, 'hex') : null;
}
