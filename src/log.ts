import cluster from 'node:cluster';
import type { ServerResponse } from 'node:http';

/** Under `--workers` (node:cluster), the worker's id (1, 2…), which JSON log records carry; undefined in a single process. */
const WORKER_ID: number | undefined = cluster.isWorker ? cluster.worker?.id : undefined;
/** The JSON records' `worker` field, or nothing. */
const WORKER_FIELD: { worker?: number } = WORKER_ID === undefined ? {} : { worker: WORKER_ID };

/** What a script run adds to its request's log line. */
export interface ScriptOutcome {
  /** Exit code, or null when a signal ended it. */
  exit: number | null;
  /** Signal that ended it, or null. */
  signal: string | null;
  /** Run time in milliseconds. */
  ms: number;
}

/** One access-log record: a request, how it was answered, and what it cost. */
export interface AccessRecord {
  time: Date;
  client: string;
  method: string;
  path: string;
  status: number;
  /** Body bytes sent. */
  bytes: number;
  /** Milliseconds from request to the response's end. */
  ms: number;
  /** The client went away before the response ended. */
  aborted?: boolean;
  script?: ScriptOutcome;
  /** Detail for the log only (never sent to the client). */
  error?: string;
}

/**
 * Body bytes of responses whose headers went out through writeHead (which
 * getHeader cannot see), for the access log; set only when there is one.
 */
export const sentBodyBytes = new WeakMap<ServerResponse, number>();

/**
 * Make request data safe to print: control characters (C0, DEL, C1) become
 * `\xHH`, so a request can neither forge a log line nor send terminal escapes.
 */
export function escapeLogText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f\\]/g, (ch) =>
    ch === '\\' ? '\\\\' : '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0'),
  );
}

/** Format one record as a text line or a JSON object (JSON escapes control characters itself). */
export function formatAccess(rec: AccessRecord, format: 'text' | 'json'): string {
  if (format === 'json') {
    return jsonLine({
      time: rec.time.toISOString(),
      ...WORKER_FIELD,
      client: rec.client,
      method: rec.method,
      path: rec.path,
      status: rec.status,
      bytes: rec.bytes,
      ms: round(rec.ms),
      ...(rec.aborted ? { aborted: true } : {}),
      ...(rec.script ? { exit: rec.script.exit, signal: rec.script.signal, scriptMs: round(rec.script.ms) } : {}),
      ...(rec.error ? { error: rec.error } : {}),
    });
  }
  let line =
    `${rec.time.toISOString()} ${rec.client} ${escapeLogText(rec.method)} ${escapeLogText(rec.path)} ` +
    `${rec.status} ${rec.bytes} ${round(rec.ms)}ms`;
  if (rec.aborted) line += ' aborted';
  if (rec.script) {
    line += rec.script.signal ? ` signal=${rec.script.signal}` : ` exit=${rec.script.exit}`;
    line += ` script=${round(rec.script.ms)}ms`;
  }
  if (rec.error) line += ` error="${escapeLogText(rec.error)}"`;
  return line;
}

/** Format a free-form server message (script stderr, warnings) with the same escaping, in the log's format. */
export function formatMessage(source: string, message: string, format: 'text' | 'json' = 'text'): string {
  const time = new Date().toISOString();
  if (format === 'json') return jsonLine({ time, ...WORKER_FIELD, source, message });
  return `${time} ${escapeLogText(source)}: ${escapeLogText(message)}`;
}

/** JSON.stringify escapes C0 but not DEL or C1 (0x9b is a one-byte CSI terminal escape): escape those too. */
function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(/[\x7f-\x9f]/g, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
