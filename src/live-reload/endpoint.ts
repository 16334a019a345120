import type { ServerResponse } from 'node:http';
import { relative, sep } from 'node:path';
import type { Config } from '../config.js';
import type { RequestContext } from '../context.js';
import { HttpError } from '../errors.js';
import { formatMessage, sentBodyBytes } from '../log.js';
import { CLIENT_BODY, CLIENT_ETAG } from './client.js';
import { LIVE_RELOAD_PREFIX, LIVE_RELOAD_SCRIPT_PATH, LIVE_RELOAD_STREAM_PATH } from './paths.js';
import { TreeWatcher } from './watch-tree.js';

/**
 * Changes are gathered for this long after the first one, then sent as one
 * event: an editor's save is several file-system events (write a temporary,
 * rename it over the file), and a build rewrites many files at once.
 */
export const CHANGE_BATCH_MS = 30;
/** A comment line this often keeps proxies from closing an idle stream and finds clients that left. */
export const HEARTBEAT_MS = 25_000;
/** Event streams open at once; more get 503 (each holds a connection). */
export const MAX_STREAMS = 256;
/** How long EventSource waits before reconnecting after a network error (the SSE `retry` field). */
const RETRY_MS = 1000;
const ALLOW = 'GET, HEAD';

/**
 * Live reload's server side (`--live-reload`): the two reserved endpoints,
 * the open event streams, and the watch on the whole tree that feeds them.
 * The endpoints are answered in the pipeline's slot for built-in endpoints,
 * after the request checks (the Host check included) and before
 * authentication and the CORS headers, so they send none.
 *
 * The stream is `text/event-stream` with `Cache-Control: no-cache,
 * no-transform`: no-transform (RFC 9111 5.2.2.6) is the mark a compressor
 * respects (expressjs/compression does), and an event held in a compressor's
 * buffer would arrive late.
 */
export class LiveReload {
  private readonly streams = new Set<ServerResponse>();
  private readonly watcher: TreeWatcher;
  private readonly pending = new Set<string>();
  private batch: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopping = false;
  /** --base-path decoded, as the client compares paths. */
  private readonly basePath: string;

  constructor(private readonly config: Config) {
    this.basePath = safeDecode(config.basePath);
    const hidden = config.dotfiles === 'ignore';
    this.watcher = new TreeWatcher(
      config.root,
      {
        changed: (fsPath) => this.changed(fsPath),
        warn: (message) => config.log?.(formatMessage('live-reload', message, config.logFormat)),
      },
      // Dot-names are never served under --dotfiles ignore: .git's churn must not reload pages.
      hidden ? (name) => name.charCodeAt(0) === 46 /* . */ : undefined,
    );
    // The first walk runs in the background; it never rejects (what cannot be read is skipped).
    void this.watcher.start();
  }

  /** Event streams open now (they are not requests a graceful stop waits for: it ends them). */
  get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Answer the request if it is for one of the reserved paths; returns
   * whether it did. Other paths under the reserved prefix are left to the
   * rest of the pipeline (a 404 under the default dotfile rule).
   */
  answer(ctx: RequestContext): boolean {
    // Below --base-path: the pipeline took the prefix off.
    const url = ctx.url;
    if (!url.startsWith(LIVE_RELOAD_PREFIX)) return false;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === LIVE_RELOAD_SCRIPT_PATH) this.sendClient(ctx);
    else if (path === LIVE_RELOAD_STREAM_PATH) this.openStream(ctx);
    else return false;
    return true;
  }

  /**
   * A graceful stop begins: end every stream (an open stream would hold the
   * stop for its whole grace period) and refuse new ones with 503, which
   * EventSource does not retry.
   */
  endStreams(): void {
    this.stopping = true;
    for (const res of this.streams) res.end();
    this.streams.clear();
    this.stopHeartbeat();
  }

  /** Stop watching and end the streams, for good (server or handler close). */
  close(): void {
    this.endStreams();
    this.watcher.close();
    clearTimeout(this.batch);
  }

  private sendClient({ req, res }: RequestContext): void {
    checkMethod(req.method);
    if (req.headers['if-none-match'] === CLIENT_ETAG) {
      res.writeHead(304, { ETag: CLIENT_ETAG, 'Cache-Control': 'no-cache' });
      res.end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Content-Length': CLIENT_BODY.length,
      'Cache-Control': 'no-cache',
      ETag: CLIENT_ETAG,
      'X-Content-Type-Options': 'nosniff',
    });
    if (this.config.log) sentBodyBytes.set(res, req.method === 'HEAD' ? 0 : CLIENT_BODY.length);
    res.end(req.method === 'HEAD' ? undefined : CLIENT_BODY);
  }

  private openStream(ctx: RequestContext): void {
    const { req, res } = ctx;
    checkMethod(req.method);
    if (this.stopping) throw new HttpError(503, { publicMessage: 'The server is stopping.' });
    if (this.streams.size >= MAX_STREAMS) throw new HttpError(503, { publicMessage: 'Too many live-reload streams are open.' });
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Content-Type-Options': 'nosniff',
      // nginx buffers proxied responses unless told not to.
      'X-Accel-Buffering': 'no',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write(`retry: ${RETRY_MS}\n\n`);
    this.streams.add(res);
    res.once('close', () => {
      this.streams.delete(res);
      if (this.streams.size === 0) this.stopHeartbeat();
    });
    this.heartbeat ??= setInterval(() => this.send(': heartbeat\n\n'), HEARTBEAT_MS).unref();
  }

  private changed(fsPath: string): void {
    if (this.stopping) return;
    this.pending.add(fsPath);
    this.batch ??= setTimeout(() => this.flush(), CHANGE_BATCH_MS);
  }

  /** One event for the batch: `css` when every changed file is a stylesheet, else `reload`. */
  private flush(): void {
    this.batch = undefined;
    const changed = [...this.pending];
    this.pending.clear();
    if (this.streams.size === 0) return;
    const onlyCss = changed.every((p) => p.toLowerCase().endsWith('.css'));
    if (onlyCss) this.send(`event: css\ndata: ${JSON.stringify(changed.map((p) => this.urlPath(p)))}\n\n`);
    else this.send('event: reload\ndata: \n\n');
  }

  /** The URL path of a file under the root as the browser sees it, decoded (`/styles/site.css`, `/app/styles/site.css` under --base-path). */
  private urlPath(fsPath: string): string {
    return this.basePath + '/' + relative(this.config.root, fsPath).split(sep).join('/');
  }

  private send(text: string): void {
    for (const res of this.streams) res.write(text);
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}

/** The reserved paths answer GET and HEAD; anything else is 405. */
function checkMethod(method: string | undefined): void {
  if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, { headers: { Allow: ALLOW } });
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
