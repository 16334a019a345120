/**
 * Where a server is in its life, for the steps that answer differently while
 * it stops (issue 20's graceful stop, run by stop.ts):
 *
 * - `serving`: everything is answered.
 * - `draining`: the health check answers 503 so that balancers take this
 *   instance out of rotation; every other request is still served, with
 *   `Connection: close`, so keep-alive connections end after their next
 *   response.
 * - `closing`: the server no longer listens, idle connections are closed,
 *   what is in flight finishes.
 */
export type Phase = 'serving' | 'draining' | 'closing';

/** One server's phase, shared by its listener, its health check and its stop sequence. */
export class Lifecycle {
  phase: Phase = 'serving';
}
