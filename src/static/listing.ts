import { readdir, realpath, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sep } from 'node:path';
import { chooseCoding, CODINGS, COMPRESS_MIN_BYTES, encodeOnce } from '../compress.js';
import type { Config } from '../config.js';
import { isInside } from '../server-code.js';
import { listingExtras } from './listing-extras.js';
import { renderListingHtml } from './listing-page.js';
import { DEFAULT_VIEW, sortEntries, viewEntries, type ListingEntry, type ListingView } from './listing-view.js';
import { folderReadme } from './readme.js';

export type { ListingEntry } from './listing-view.js';
export { renderListingHtml } from './listing-page.js';

const LISTING_TYPES = ['text/html', 'application/json'];

/**
 * Read a directory: dotfiles hidden unless allowed, entries that vanish or
 * cannot be stat'ed (a dangling symlink) left out. Directories first, then
 * files; each group in natural, case-insensitive name order
 * (listing-view.ts `compareNatural`). `hasSymlinks` tells a cache that
 * the listing depends on targets no directory watch covers.
 */
export async function readListing(
  config: Config,
  fsPath: string,
  /** The directory's entries when the caller has just read them. */
  read?: readonly Dirent[],
): Promise<{ entries: ListingEntry[]; hasSymlinks: boolean }> {
  const dirents = read ?? (await readdir(fsPath, { withFileTypes: true }));
  const hasSymlinks = dirents.some((d) => d.isSymbolicLink());
  const entries = await Promise.all(
    dirents
      .filter((d) => config.dotfiles === 'allow' || d.name.charCodeAt(0) !== 46)
      .map(async (d): Promise<ListingEntry | null> => {
        const name = d.name;
        try {
          // A symlink out of the root is not served, so it is not listed either
          // (its target's size and date would leak what lies outside).
          if (d.isSymbolicLink() && !config.followSymlinks && !isInside(await realpath(fsPath + sep + name), config.root)) {
            return null;
          }
          const s = await stat(fsPath + sep + name);
          const dir = s.isDirectory();
          return { name, type: dir ? 'directory' : 'file', size: dir ? null : s.size, mtime: s.mtime.toISOString() };
        } catch {
          return null;
        }
      }),
  );
  const sorted = sortEntries(
    entries.filter((e): e is ListingEntry => e !== null),
    DEFAULT_VIEW,
  );
  return { entries: sorted, hasSymlinks };
}

/** Does the client prefer the JSON listing? */
export async function wantsJson(req: IncomingMessage): Promise<boolean> {
  const accept = req.headers.accept;
  if (accept === undefined || !accept.includes('json')) return false;
  // Loaded on first use: only clients that mention JSON need full negotiation.
  const { default: Negotiator } = await import('negotiator');
  return new Negotiator(req).mediaType(LISTING_TYPES) === 'application/json';
}

/** The folder a listing describes. */
export interface ListingDir {
  /** Absolute path of the folder. */
  readonly fsPath: string;
  /** Its canonical, percent-encoded URL path, ending in `/`. */
  readonly urlPath: string;
  readonly isRoot: boolean;
}

/**
 * The body of a listing for a view, HTML or JSON: the entries the view
 * shows, in its order, and for HTML the folder's README below them. The JSON
 * form is `{ path, entries }`, with the same filter and order.
 */
export async function listingBody(
  config: Config,
  dir: ListingDir,
  all: readonly ListingEntry[],
  json: boolean,
  view: ListingView = DEFAULT_VIEW,
): Promise<Buffer> {
  const entries = viewEntries(all, view);
  if (json) return Buffer.from(JSON.stringify({ path: decodeURIComponent(dir.urlPath), entries }) + '\n');
  const html = renderListingHtml(dir.urlPath, entries, dir.isRoot, {
    view,
    total: all.length,
    readmeHtml: await folderReadme(config, dir.fsPath, all),
    archives: config.archives,
    basePath: config.basePath,
    extras: listingExtras(config, dir.fsPath),
  });
  return Buffer.from(html);
}

/**
 * Send a listing body. It is built whole (listings are small) so HEAD and GET
 * carry the same Content-Length. A strict CSP (listing-page.ts `listingCsp`:
 * hashes, no `'unsafe-inline'`) means a hostile file name or README can never
 * run script.
 */
export async function sendListing(req: IncomingMessage, res: ServerResponse, body: Buffer, json: boolean, csp: string, compress: boolean): Promise<void> {
  // Compressed like any HTML or JSON over 1 KiB (compress.ts); HEAD computes the same Content-Length as GET.
  const coding = compress && body.length > COMPRESS_MIN_BYTES ? chooseCoding(req.headers['accept-encoding'], CODINGS) : null;
  const sent = coding ? await encodeOnce(coding, body) : body;
  res.statusCode = 200;
  res.setHeader('Content-Type', json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8');
  if (coding) res.setHeader('Content-Encoding', coding);
  res.setHeader('Content-Length', sent.length);
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Vary', compress ? 'Accept, Accept-Encoding' : 'Accept');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', json ? "default-src 'none'" : csp);
  res.end(req.method === 'HEAD' ? undefined : sent);
}
