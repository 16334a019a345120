/**
 * `--health PATH` (issue 20): the endpoint a load balancer or a kubelet
 * probes. It is answered before authentication and before the Host check (a
 * kubelet probes by pod IP, with that IP as Host), touches no file system,
 * and is left out of the access log unless `--log-health` (a probe every
 * second would drown the log). It answers 200 `ok` while the server serves,
 * and 503 `draining` once a stop has begun (lifecycle.ts), so that the
 * balancer stops sending requests before the server stops listening.
 */
import type { RequestContext } from './context.js';
import type { Lifecycle } from './lifecycle.js';

const HEADERS = {
  'Content-Type': 'text/plain; charset=utf-8',
  // A cached "ok" would hide a draining instance.
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};
const OK = Buffer.from('ok\n');
const DRAINING = Buffer.from('draining\n');

/** The health endpoint of one server. */
export class HealthCheck {
  constructor(
    private readonly path: string,
    private readonly lifecycle: Lifecycle,
    private readonly logged: boolean,
  ) {}

  /** Answer the request if it is for the health path; returns true when it did. */
  answer(ctx: RequestContext): boolean {
    const url = ctx.url;
    if (!url.startsWith(this.path) || (url.length !== this.path.length && url[this.path.length] !== '?')) return false;
    const { req, res } = ctx;
    if (!this.logged) ctx.unlogged = true;
    for (const [name, value] of Object.entries(HEADERS)) res.setHeader(name, value);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.setHeader('Allow', 'GET, HEAD');
      res.setHeader('Content-Length', 0);
      res.end();
      return true;
    }
    const body = this.lifecycle.phase === 'serving' ? OK : DRAINING;
    res.statusCode = body === OK ? 200 : 503;
    res.setHeader('Content-Length', body.length);
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}
