import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { evaluatePreconditions } from '../conditional.js';
import type { Config } from '../config.js';
import { HttpError } from '../errors.js';
import { sentBodyBytes } from '../log.js';
import type { FileInfo } from '../static/serve-file.js';
import { injectScriptTag, reloadScriptTag } from './inject.js';

/**
 * HTML files larger than this are served as they are, without the script: the
 * injected copy is built in memory, and a page this large is not one being
 * edited by hand.
 */
export const MAX_INJECTED_BYTES = 16 * 1024 * 1024;

/** A page with the script injected: its own bytes and validators, built once per version of the file. */
interface InjectedPage {
  readonly body: Buffer;
  readonly etag: string;
  readonly lastModified: string;
  readonly mtimeS: number;
}

/**
 * Injected copies by the file version they were made from. FileInfo objects
 * are per version (the cache makes a new one when the file changes), so an
 * entry can never describe older bytes than its key.
 */
const injected = new WeakMap<FileInfo, InjectedPage>();

/** The tag for each base path (one per server in practice), built once. */
const tags = new Map<string, Buffer>();

/** Is this file one live reload injects its script into: an HTML page of at most MAX_INJECTED_BYTES? */
export function isInjectable(file: FileInfo): boolean {
  return file.type.startsWith('text/html') && file.size <= MAX_INJECTED_BYTES;
}

/**
 * Serve an HTML file with the live-reload script tag in it. The injected page
 * is another representation than the file: it has its own strong ETag (the
 * file's with `-lr`), so a cache never mixes the two; it is always sent whole
 * (`Accept-Ranges: none`, a Range is ignored as RFC 9110 14.2 allows: byte
 * offsets of the file would not match it), and never from a precompressed
 * copy of the file, which lacks the tag (this runs before serve-file looks
 * for one). Preconditions go through the one evaluator, with the page's validators.
 */
export function serveInjectedPage(req: IncomingMessage, res: ServerResponse, config: Config, file: FileInfo): void | Promise<void> {
  const page = injected.get(file);
  if (page) return sendPage(req, res, config, file, page);
  return loadPage(file, config.basePath).then((loaded) => sendPage(req, res, config, file, loaded));
}

async function loadPage(file: FileInfo, basePath: string): Promise<InjectedPage> {
  const bytes = file.body ?? (await readFile(file.fsPath));
  let tag = tags.get(basePath);
  if (tag === undefined) tags.set(basePath, (tag = reloadScriptTag(basePath)));
  const page: InjectedPage = {
    body: injectScriptTag(bytes, tag),
    etag: file.etag.slice(0, -1) + '-lr"',
    lastModified: file.lastModified,
    mtimeS: file.mtimeS,
  };
  // A file read here (too large to be cached) may have changed since its stat: keep such a copy for this request only.
  if (file.body) injected.set(file, page);
  return page;
}

function sendPage(req: IncomingMessage, res: ServerResponse, config: Config, file: FileInfo, page: InjectedPage): void {
  const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
  const verdict = evaluatePreconditions(method, req.headers, page);
  if (verdict === 'precondition-failed') throw new HttpError(412);
  const headers: Record<string, string | number> = {
    ETag: page.etag,
    'Last-Modified': page.lastModified,
    'Cache-Control': config.cacheControl,
    'X-Content-Type-Options': 'nosniff',
  };
  if (verdict === 'not-modified') {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['Accept-Ranges'] = 'none';
  headers['Content-Type'] = file.type;
  headers['Content-Length'] = page.body.length;
  res.writeHead(200, headers);
  if (config.log) sentBodyBytes.set(res, method === 'HEAD' ? 0 : page.body.length);
  res.end(method === 'HEAD' ? undefined : page.body);
}
