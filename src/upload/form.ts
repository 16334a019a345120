import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import { escapeHtml } from '../errors.js';
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
  'form.upload{margin:1.5rem 0;padding:.75rem 1rem;border:1px dashed #999;border-radius:.4rem}' +
  'form.upload label{margin-right:1rem}html.dropping body{outline:3px dashed #0645ad;outline-offset:.5rem}';

/** `'sha256-…'` of {@link UPLOAD_SCRIPT}, for the page's `script-src` (CSP Level 2 hash source), computed once. */
export const UPLOAD_SCRIPT_CSP = cspHash(UPLOAD_SCRIPT);
/** `'sha256-…'` of {@link UPLOAD_STYLE}, for the page's `style-src`. */
export const UPLOAD_STYLE_CSP = cspHash(UPLOAD_STYLE);

function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The upload form for the listing of the folder at `urlPath` (the
 * percent-encoded folder path, ending in `/`), or '' when that folder takes
 * no uploads. A plain multipart form: it works without JavaScript; the
 * folder input appears only with --upload-mkdir (folder uploads create
 * folders). Pure and cacheable: the same for every request of a folder.
 */
export function uploadFormHtml(config: Config, urlPath: string): string {
  if (config.upload === null) return '';
  let segments: string[];
  try {
    segments = urlPath.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    return '';
  }
  if (!acceptsUploads(config.upload, segments)) return '';
  const folderInput = config.upload.mkdir
    ? '<label>Folder: <input type="file" name="file" webkitdirectory multiple></label>'
    : '';
  return (
    `<form class="upload" method="post" enctype="multipart/form-data" action="${escapeHtml(urlPath)}">` +
    '<label>Files: <input type="file" name="file" multiple></label>' +
    folderInput +
    '<button type="submit">Upload</button> <small>or drop files on this page</small></form>'
  );
}
