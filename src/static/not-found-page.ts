import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { sentBodyBytes } from '../log.js';
import type { FileInfo } from './serve-file.js';

/**
 * The root's `404.html` as the answer to a GET or HEAD that found nothing
 * (http-server's convention, issue 17): status 404, the page's own
 * Content-Type, and none of the file's validators or caching headers, which
 * would describe the page, not the missing path. Never a range, never a 304.
 */
export function sendNotFoundPage(req: IncomingMessage, res: ServerResponse, file: FileInfo, log: boolean): void {
  res.writeHead(404, [
    'Content-Type', file.type,
    'Content-Length', String(file.size),
    'Cache-Control', 'no-store',
    'X-Content-Type-Options', 'nosniff',
  ]);
  const head = req.method === 'HEAD';
  if (log) sentBodyBytes.set(res, head ? 0 : file.size);
  if (head || file.size === 0) {
    res.end();
  } else if (file.body) {
    res.end(file.body);
  } else {
    pipeline(createReadStream(file.fsPath, { start: 0, end: file.size - 1 }), res, () => {
      // An error after the head went out: pipeline has destroyed the response, which cuts the connection.
    });
  }
}
