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

const BASIC_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Decode the character references marked leaves in a URL (`&#106;avascript:`
 * would otherwise reach the browser, which decodes it in the attribute). The
 * decoded URL is then checked and written with every `&` escaped, so a named
 * reference not decoded here (`&colon;`) reaches the browser as literal text,
 * never as the character it names.
 */
function decodeCharacterReferences(text: string): string {
  return text.replace(/&(#[0-9]{1,7}|#x[0-9a-f]{1,6}|amp|lt|gt|quot|apos);/gi, (whole, ref: string) => {
    if (ref[0] !== '#') return BASIC_ENTITIES[ref.toLowerCase()] ?? whole;
    const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) ? '\ufffd' : String.fromCodePoint(code);
  });
}

function titleAttribute(title: string | null | undefined): string {
  return title ? ` title="${escapeHtml(decodeCharacterReferences(title))}"` : '';
}

let parser: Marked | null = null;

/**
 * marked, set up not to trust the Markdown: it does not sanitise by itself,
 * so raw HTML (blocks and inline tags) is shown as text, and links and images
 * are written here: their URL decoded, checked against
 * {@link ALLOWED_SCHEMES} (else only the text stays) and fully escaped.
 * Loaded on the first README.
 */
async function readmeParser(): Promise<Marked> {
  if (parser) return parser;
  const { Marked } = await import('marked');
  parser = new Marked({
    gfm: true,
    async: false,
    renderer: {
      html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
      link(token: Tokens.Link): string {
        const text = this.parser.parseInline(token.tokens);
        const href = decodeCharacterReferences(token.href);
        if (!isSafeReadmeUrl(href)) return text;
        return `<a href="${escapeHtml(href)}"${titleAttribute(token.title)}>${text}</a>`;
      },
      image(token: Tokens.Image): string {
        const alt = escapeHtml(token.text);
        const src = decodeCharacterReferences(token.href);
        if (!isSafeReadmeUrl(src)) return alt;
        return `<img src="${escapeHtml(src)}" alt="${alt}"${titleAttribute(token.title)}>`;
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
