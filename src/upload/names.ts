import { extname } from 'node:path';
import { HttpError } from '../errors.js';

/** Prefix of the temporary files uploads stream into; a name no upload may take. */
export const TEMP_PREFIX = '.scriptserve-upload-';
/** The longest name most file systems store (ext4, XFS, btrfs: 255 bytes). */
const MAX_NAME_BYTES = 255;
/** C0 controls, DEL and C1 controls: no file name needs them, and they corrupt terminals and logs. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Check one path segment an upload names (a file or a folder) and return it
 * normalised to NFC, so that the same name typed on macOS (NFD) and Linux
 * (NFC) is one file. Throws 400 with the reason; the reasons are fixed text,
 * never the name itself (errors.ts: nothing from the request on a page).
 */
export function checkUploadName(raw: string, dotfiles: 'ignore' | 'allow'): string {
  const name = raw.normalize('NFC');
  if (name === '') throw badName('The name is empty.');
  if (name.includes('/') || name.includes('\\')) throw badName('A name must not contain / or \\.');
  if (CONTROL.test(name)) throw badName('A name must not contain NUL or control characters.');
  if (name === '.' || name === '..') throw badName('A name must not be . or ..');
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw badName(`A name must be at most ${MAX_NAME_BYTES} bytes long (UTF-8).`);
  if (name.startsWith(TEMP_PREFIX)) throw badName('This name is reserved for uploads in progress.');
  if (name.startsWith('.') && dotfiles !== 'allow') throw badName('Names starting with a dot are refused (see --dotfiles allow).');
  return name;
}

/** Check a relative path (`a/b/c.txt`, from a folder upload) segment by segment; returns the normalised segments. */
export function checkUploadPath(raw: string, dotfiles: 'ignore' | 'allow'): string[] {
  if (raw.includes('\\')) throw badName('A name must not contain / or \\.');
  const parts = raw.split('/');
  if (parts[0] === '') throw badName('A folder upload path must be relative.');
  return parts.map((p) => checkUploadName(p, dotfiles));
}

/** The `rename` policy's n-th alternative: `photo.jpg` → `photo (1).jpg`; `.env` and `README` get the suffix at the end. */
export function renamedName(name: string, n: number): string {
  const ext = extname(name);
  const stem = ext === '' ? name : name.slice(0, -ext.length);
  return `${stem} (${n})${ext}`;
}

function badName(reason: string): HttpError {
  return new HttpError(400, { publicMessage: `Bad upload name: ${reason}` });
}
