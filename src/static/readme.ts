import { open, realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import type { Marked, Tokens } from 'marked';
import type { Config } from '../config.js';
import { escapeHtml } from '../errors.js';
import { isInside, isServerCode } from '../server-code.js';
import type { ListingEntry } from './listing-view.js';

/** A README larger than this is not rendered (the listing stays quick to build). */
export const MAX_README_BYTES = 1024 * 1024;

/** The names a folder's README may have; the first listed entry that matches is shown. */
const README_NAME = /^readme\.md$/i;

/** Schemes a README's links and images keep; anything else (`javascript:`, `data:`, `vbscript:`, `file:`) is dropped. */
const ALLOWED_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/**
 * Is this URL one a README may link to: `http:`, `https:`, `mailto:` or
 * relative? Browsers ignore tabs, newlines and leading control characters
 * and spaces in a URL (WHATWG URL: "remove all ASCII tab or newline",
 * "leading and trailing C0 control or space"), so those are removed before
 * the scheme is read, or `java\tscript:` would pass.
 */
export function isSafeReadmeUrl(url: string): boolean {
  const cleaned = url.replace(/[\u0000-\u0020\u007f]/g, '');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(cleaned);
  if (scheme === null) return true;
  return ALLOWED_SCHEMES.has(scheme[1]!.toLowerCase() + ':');
}

let parser: Marked | null = null;

/**
 * marked, set up not to trust the Markdown: it does not sanitise by itself,
 * so raw HTML (blocks and inline tags) is shown as text, and links and images
 * with another scheme than {@link ALLOWED_SCHEMES} lose their URL (the text
 * stays). Loaded on the first README.
 */
async function readmeParser(): Promise<Marked> {
  if (parser) return parser;
  const { Marked } = await import('marked');
  parser = new Marked({
    gfm: true,
    async: false,
    renderer: {
      html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
      link(token: Tokens.Link): string | false {
        if (isSafeReadmeUrl(token.href)) return false; // marked's own rendering (it escapes the URL)
        return this.parser.parseInline(token.tokens);
      },
      image(token: Tokens.Image): string | false {
        if (isSafeReadmeUrl(token.href)) return false;
        return escapeHtml(token.text);
      },
    },
  });
  return parser;
}

/** Markdown → HTML that cannot run script or load from unexpected schemes. */
export async function renderReadme(markdown: string): Promise<string> {
  const marked = await readmeParser();
  return marked.parse(markdown, { async: false }) as string;
}

/**
 * The README of a folder, rendered, or null: the first entry named
 * `README.md` (any case) that static serving would serve (inside the root
 * unless symlinks are followed, not server code), up to
 * {@link MAX_README_BYTES}. A README that cannot be read is left out, never
 * an error for the listing.
 */
export async function folderReadme(config: Config, fsPath: string, entries: readonly ListingEntry[]): Promise<string | null> {
  const entry = entries.find((e) => e.type === 'file' && README_NAME.test(e.name));
  if (!entry || entry.size === null || entry.size > MAX_README_BYTES) return null;
  const file = fsPath + sep + entry.name;
  try {
    const real = await realpath(file);
    if ((!config.followSymlinks && !isInside(real, config.root)) || isServerCode(config, real)) return null;
    const text = await readCapped(file, MAX_README_BYTES);
    return text === null ? null : await renderReadme(text);
  } catch {
    return null;
  }
}

/** A file's text, or null when it is larger than `cap` (it may have grown since it was listed). */
async function readCapped(file: string, cap: number): Promise<string | null> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(cap + 1);
    let read = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, read, buf.length - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
      if (read > cap) return null;
    }
    return buf.subarray(0, read).toString('utf8');
  } finally {
    await handle.close();
  }
}
