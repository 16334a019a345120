import type { IncomingMessage } from 'node:http';
import { HttpError } from '../errors.js';

/**
 * An HTTP/2 request names its host in `:authority` (RFC 9113 8.3.1), where
 * HTTP/1.1 has Host. Make it the request's Host, before anything reads the
 * request (the client view of forwarded.ts, the Host check, the cross-origin
 * check, SERVER_NAME and HTTP_HOST all read Host); the pseudo-header itself
 * never becomes a script variable (env.ts maps only plain names).
 */
export function adoptAuthority(req: IncomingMessage): void {
  const authority = req.headers[':authority'];
  if (typeof authority !== 'string' || authority === '' || req.headers.host !== undefined) return;
  req.headers.host = authority;
  req.rawHeaders.push('host', authority);
}

/** A Host that names another authority than `:authority` makes the request malformed (RFC 9113 8.3.1): 400. */
export function checkAuthority(req: IncomingMessage): void {
  const authority = req.headers[':authority'];
  const host = req.headers.host;
  if (typeof authority === 'string' && host !== undefined && host.toLowerCase() !== authority.toLowerCase()) {
    throw new HttpError(400, { publicMessage: 'The Host header and :authority differ.' });
  }
}

/**
 * Does an HTTP/2 request without Content-Length carry a body? HTTP/2 has no
 * chunked coding: a body is there unless the HEADERS frame ended the stream
 * (RFC 9113 8.1). Such a body is read like a chunked one (spooled, so
 * CONTENT_LENGTH can be set).
 */
export function hasUnsizedHttp2Body(req: IncomingMessage): boolean {
  if (req.httpVersionMajor !== 2) return false;
  const stream = (req as unknown as { stream?: { endAfterHeaders?: boolean } }).stream;
  return stream?.endAfterHeaders === false;
}
