import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ScriptPool } from './cgi/pool.js';
import type { Config } from './config.js';
import { clientView, type ClientView } from './forwarded.js';
import { formatMessage, type AccessRecord, type ScriptOutcome } from './log.js';

/**
 * The state one request's steps share, from the checks to the response. It
 * sits below every step (pipeline, static, cgi) and imports none of them, so
 * no step reaches back up to another.
 */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly config: Config;
  readonly scripts: ScriptPool;
  /** The access-log record, null when nothing is logged (the record costs a clock read). */
  readonly record: AccessRecord | null;
  /** The client, scheme, Host and port as the client made the request (trusted proxies' headers applied: forwarded.ts). */
  readonly client: ClientView;
  /** Set by a step whose request must not be logged (the health check, without --log-health). */
  unlogged?: boolean;
  /**
   * The request target below --base-path (req.url with the prefix taken off;
   * req.url itself when there is none): what built-in endpoints, rules and the
   * resolver look at. `req.url` stays as received (REQUEST_URI, the log).
   */
  url: string;
  /** Body bytes written so far by a streaming step (scripts); null means "use Content-Length". */
  bytes: number | null;
  /** Set when a script runs: its outcome joins the request's log line. */
  scriptDone?: Promise<ScriptOutcome>;
  /** The user HTTP Basic authentication let in (REMOTE_USER), if any. */
  remoteUser?: string;
  /** Past every check (Host, authentication, cross-origin): only then may an error page link to what exists. */
  checked: boolean;
}

/** A fresh context for a request; `record` only when there is an access log. */
export function newContext(req: IncomingMessage, res: ServerResponse, config: Config, scripts: ScriptPool): RequestContext {
  const client = clientView(req, config.trustProxy, (problem) => config.log?.(formatMessage('forwarded', problem, config.logFormat)));
  return {
    req, res, config, scripts, record: config.log ? newRecord(req, client) : null, client, url: req.url ?? '/',
    bytes: null, scriptDone: undefined, remoteUser: undefined, checked: false,
  };
}

/** The request side of an access record, taken when the request arrives. */
function newRecord(req: IncomingMessage, client: ClientView): AccessRecord {
  return {
    time: new Date(),
    client: client.address || '-',
    method: req.method ?? '-',
    path: req.url ?? '-',
    status: 0,
    bytes: 0,
    ms: 0,
  };
}
