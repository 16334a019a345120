import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import { sep } from 'node:path';
import { acceptsUploads } from './place.js';

/**
 * Drag-and-drop onto a listing page: the dropped files fill the page's
 * upload form, which is then submitted like a click on its button would,
 * so the answer (303 back to the listing) is the plain form's. Folders
 * dropped this way are left alone (a drop gives no relative paths; the
 * folder input does). Runs only where the page's CSP lists
 * {@link UPLOAD_SCRIPT_CSP}; without it the form works as it is.
 */
export const UPLOAD_SCRIPT =
  "(()=>{const f=document.querySelector('form.upload'),i=f&&f.querySelector('input[type=file]'),h=document.documentElement;if(!i)return;" +
  "const files=e=>e.dataTransfer&&Array.from(e.dataTransfer.types).includes('Files');" +
  "addEventListener('dragover',e=>{if(files(e)){e.preventDefault();h.classList.add('dropping')}});" +
  "addEventListener('dragleave',e=>{if(!e.relatedTarget)h.classList.remove('dropping')});" +
  "addEventListener('drop',e=>{if(!files(e))return;e.preventDefault();h.classList.remove('dropping');const d=e.dataTransfer;" +
  "if(Array.from(d.items||[]).some(t=>t.webkitGetAsEntry&&t.webkitGetAsEntry()?.isDirectory)||d.files.length===0)return;" +
  "i.files=d.files;f.submit()})})();";

/** The form's look, for a page that lists {@link UPLOAD_STYLE_CSP} (or allows inline styles). */
export const UPLOAD_STYLE =
  'form.upload{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:1.5rem 0;padding:.75rem 1rem;' +
  'border:1px dashed var(--bd,#999);border-radius:6px}html.dropping body{outline:3px dashed var(--ln,#0645ad);outline-offset:.5rem}';

/** `'sha256-…'` of {@link UPLOAD_SCRIPT}, for the page's `script-src` (CSP Level 2 hash source), computed once. */
export const UPLOAD_SCRIPT_CSP = cspHash(UPLOAD_SCRIPT);
/** `'sha256-…'` of {@link UPLOAD_STYLE}, for the page's `style-src`. */
export const UPLOAD_STYLE_CSP = cspHash(UPLOAD_STYLE);

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The upload form for the listing of `folder` (URL path segments from the
 * root), or '' when that folder takes no uploads. A plain multipart form
 * posting to the page's own URL (no `action`, so --base-path and the
 * listing's query need nothing here): it works without JavaScript; the
 * folder input appears only with --upload-mkdir (folder uploads create
 * folders). The same for every request of a folder, so cacheable.
 */
export function uploadFormHtml(config: Config, folder: readonly string[]): string {
  if (config.upload === null || !acceptsUploads(config.upload, folder)) return '';
  const folderInput = config.upload.mkdir
    ? '<label>Folder: <input type="file" name="file" webkitdirectory multiple></label>'
    : '';
  return (
    '<form class="upload" method="post" enctype="multipart/form-data">' +
    '<label>Files: <input type="file" name="file" multiple></label>' +
    folderInput +
    '<button type="submit">Upload</button> <small>or drop files on this page</small></form>'
  );
}

/**
 * What uploads add to the listing of the folder at `fsPath` (a real path
 * inside the root): the form, its drag-and-drop script and its style, for
 * the listing page's extras (static/listing-extras.ts), which allow the
 * script and style by hash. Null when the folder takes no uploads.
 */
export function uploadListingExtras(config: Config, fsPath: string): { html: string; scripts: string[]; styles: string[] } | null {
  if (config.upload === null) return null;
  const folder = fsPath === config.root ? [] : fsPath.slice(config.root.length + 1).split(sep);
  const html = uploadFormHtml(config, folder);
  return html === '' ? null : { html, scripts: [UPLOAD_SCRIPT], styles: [UPLOAD_STYLE] };
}
