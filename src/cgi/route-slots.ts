import type { Route } from '../config.js';
import { HttpError } from '../errors.js';

/** Requests running per route, for routes with a `maxConcurrent` of their own. */
const running = new WeakMap<Route, number>();

/**
 * Take one of a route's `maxConcurrent` slots, or throw 503 with Retry-After
 * when all are taken (a route's limit refuses rather than queues: the
 * server-wide --max-scripts queue is the place to wait). Returns the release,
 * safe to call more than once.
 */
export function takeRouteSlot(route: Route): () => void {
  if (route.maxConcurrent === Infinity) return () => {};
  const now = running.get(route) ?? 0;
  if (now >= route.maxConcurrent) {
    throw new HttpError(503, {
      publicMessage: 'This route is busy; try again shortly.',
      logMessage: `route ${route.method} ${route.path} has ${route.maxConcurrent} requests running`,
      headers: { 'Retry-After': '1' },
    });
  }
  running.set(route, now + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    running.set(route, (running.get(route) ?? 1) - 1);
  };
}
