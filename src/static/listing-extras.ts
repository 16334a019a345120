import type { Config } from '../config.js';
import type { PageExtras } from './listing-page.js';

const NONE: PageExtras = Object.freeze({});

/**
 * What other features add to the listing of the folder at `fsPath` (a real
 * path inside the root): an HTML fragment after the table and inline
 * scripts, whose hashes join the page's CSP (see {@link PageExtras}). The
 * seam for the upload form of the uploads issue: return its form and its
 * drag-and-drop script when uploads are allowed in this folder. Must be
 * deterministic for a folder while the configuration holds: cached listing
 * pages are built with it.
 */
export function listingExtras(_config: Config, _fsPath: string): PageExtras {
  return NONE;
}
