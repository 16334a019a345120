import { readdir, realpath, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sep } from 'node:path';
import type { Config } from '../config.js';
import { escapeHtml } from '../errors.js';
import { encodeSegment } from '../request-path.js';
import { UPLOAD_SCRIPT, UPLOAD_SCRIPT_CSP, UPLOAD_STYLE } from '../upload/form.js';

/** One entry of a directory listing. */
export interface ListingEntry {
  readonly name: string;
  readonly type: 'directory' | 'file';
  /** Bytes for files; null for directories. */
  readonly size: number | null;
  /** Last modification, ISO 8601. */
  readonly mtime: string;
}

const LISTING_TYPES = ['text/html', 'application/json'];

function isInsideRoot(real: string, root: string): boolean {
  return real === root || real.startsWith(root + sep);
}

/**
 * Read a directory: dotfiles hidden unless allowed, entries that vanish or
 * cannot be stat'ed (a dangling symlink) left out. Directories first, then
 * files; each group by name, case-insensitively as CPython's listing does,
 * then by code point so the order is total. `hasSymlinks` tells a cache that
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
          if (d.isSymbolicLink() && !config.followSymlinks && !isInsideRoot(await realpath(fsPath + sep + name), config.root)) {
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
  const sorted = entries
    .filter((e): e is ListingEntry => e !== null)
    .sort((a, b) => {
      if (a.type !== b.type) return a.type === 'directory' ? -1 : 1;
      const la = a.name.toLowerCase();
      const lb = b.name.toLowerCase();
      if (la !== lb) return la < lb ? -1 : 1;
      return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
  return { entries: sorted, hasSymlinks };
}

function formatSize(size: number | null): string {
  if (size === null) return '-';
  if (size < 1024) return `${size} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

const STYLE =
  'body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}' +
  'h1{font-size:1.3rem;font-weight:600;word-break:break-all}table{border-collapse:collapse;width:100%}' +
  'th,td{text-align:left;padding:.25rem .75rem .25rem 0;border-bottom:1px solid #eee}' +
  'th{font-weight:600;color:#555}.n{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}' +
  'a{color:#0645ad;text-decoration:none}a:hover{text-decoration:underline}' +
  '@media (prefers-color-scheme:dark){body{background:#111;color:#ddd}a{color:#8ab4f8}th,td{border-color:#333}}';

/**
 * The HTML page for a listing. Names are HTML-escaped for display and
 * percent-encoded (RFC 3986) in relative links, so every name round-trips
 * (spaces, `#`, `?`, `%`, quotes, non-ASCII).
 */
export function renderListingHtml(urlPath: string, entries: readonly ListingEntry[], isRoot: boolean, uploadForm = ''): string {
  const title = `Index of ${escapeHtml(decodeURIComponent(urlPath))}`;
  const rows: string[] = [];
  if (!isRoot) rows.push('<tr><td><a href="../">../</a></td><td class="n">-</td><td>-</td></tr>');
  for (const e of entries) {
    const slash = e.type === 'directory' ? '/' : '';
    const href = encodeSegment(e.name) + slash;
    const when = e.mtime.slice(0, 16).replace('T', ' ');
    rows.push(
      `<tr><td><a href="${href}">${escapeHtml(e.name)}${slash}</a></td>` +
        `<td class="n">${formatSize(e.size)}</td><td>${when}</td></tr>`,
    );
  }
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title>` +
    `<style>${STYLE}${uploadForm && UPLOAD_STYLE}</style></head><body><h1>${title}</h1>\n<table>` +
    `<thead><tr><th>Name</th><th class="n">Size</th><th>Last modified (UTC)</th></tr></thead><tbody>\n` +
    rows.join('\n') +
    `\n</tbody></table>${uploadForm && `${uploadForm}<script>${UPLOAD_SCRIPT}</script>`}</body></html>\n`
  );
}

/** Does the client prefer the JSON listing? */
export async function wantsJson(req: IncomingMessage): Promise<boolean> {
  const accept = req.headers.accept;
  if (accept === undefined || !accept.includes('json')) return false;
  // Loaded on first use: only clients that mention JSON need full negotiation.
  const { default: Negotiator } = await import('negotiator');
  return new Negotiator(req).mediaType(LISTING_TYPES) === 'application/json';
}

/** The body of a listing, HTML or JSON. */
export function listingBody(urlPath: string, entries: readonly ListingEntry[], isRoot: boolean, json: boolean, uploadForm = ''): Buffer {
  return json
    ? Buffer.from(JSON.stringify({ path: decodeURIComponent(urlPath), entries }) + '\n')
    : Buffer.from(renderListingHtml(urlPath, entries, isRoot, uploadForm));
}

/**
 * Send a listing body. It is built whole (listings are small) so HEAD and GET
 * carry the same Content-Length. A strict CSP means a hostile file name can
 * never run script.
 */
export function sendListing(req: IncomingMessage, res: ServerResponse, body: Buffer, json: boolean): void {
  res.statusCode = 200;
  res.setHeader('Content-Type', json ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Vary', 'Accept');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src ${UPLOAD_SCRIPT_CSP}`);
  res.end(req.method === 'HEAD' ? undefined : body);
}
