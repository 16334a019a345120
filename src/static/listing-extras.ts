import type { Config } from '../config.js';
import { uploadListingExtras } from '../upload/form.js';
import type { PageExtras } from './listing-page.js';

const NONE: PageExtras = Object.freeze({});

/**
 * What other features add to the listing of the folder at `fsPath` (a real
 * path inside the root): an HTML fragment after the table and inline
 * scripts, whose hashes join the page's CSP (see {@link PageExtras}): the
 * upload form and its drag-and-drop script where uploads are allowed
 * (upload/form.ts). Must be
 * deterministic for a folder while the configuration holds: cached listing
 * pages are built with it.
 */
export function listingExtras(config: Config, fsPath: string): PageExtras {
  return uploadListingExtras(config, fsPath) ?? NONE;
}
