import { escapeHtml } from '../errors.js';
import { encodeSegment } from '../request-path.js';
import { THEME_CSS, cspHash } from '../theme.js';
import { DEFAULT_VIEW, formatSize, nextOrder, sortQuery, type ListingEntry, type ListingView, type SortKey } from './listing-view.js';

/**
 * The HTML listing page. Everything it needs is inline (one style, one
 * script, CSS icons) and allowed by hash in a strict CSP; it works without
 * JavaScript (sorting and filtering are links and a GET form) and in text
 * browsers (plain links in document order: breadcrumbs, filter, column
 * headers, entries, README).
 */

/**
 * What another feature adds to a listing page (the upload form of the
 * uploads issue, say): an HTML fragment placed after the table, inline
 * scripts and styles, each allowed by its sha256 hash in the page's CSP, and
 * same-origin script URLs (allowed as `'self'`). With any script the page
 * may `fetch` the server (`connect-src 'self'`); a form posts under
 * `form-action 'self'`. The fragment must carry no `style=` or `on…=`
 * attributes: the CSP blocks them.
 */
export interface PageExtras {
  readonly html?: string;
  readonly scripts?: readonly string[];
  readonly styles?: readonly string[];
  /** Paths on this server (`/.well-known/…`), loaded with `<script src>`. */
  readonly scriptUrls?: readonly string[];
}

export interface ListingPageOptions {
  readonly view?: ListingView;
  /** How many entries the folder has before the view's filter (the count says "3 of 12"). */
  readonly total?: number;
  /** Rendered README (already safe HTML), shown below the table. */
  readonly readmeHtml?: string | null;
  /** `--base-path` (`/app`, or ''): the first breadcrumb leads there, not to the host's `/`. */
  readonly basePath?: string;
  /** Show the "download as tar" link (`--archives`). */
  readonly archives?: boolean;
  readonly extras?: PageExtras;
}

const LISTING_CSS =
  THEME_CSS +
  'h1 a{color:inherit}h1 a:hover{color:var(--ln)}' +
  '.bar{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.75rem 0}' +
  '.bar form{display:flex;gap:.4rem;flex:1 1 14rem;max-width:26rem}' +
  'input,button{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--bd);border-radius:6px;padding:.25rem .5rem}' +
  'input{flex:1;min-width:0}button{cursor:pointer;background:var(--hi)}' +
  'table{border-collapse:collapse;width:100%}' +
  'th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--bd);vertical-align:top}' +
  'th{font-weight:600;white-space:nowrap}th a{color:var(--fg)}th[aria-sort] a{color:var(--ln)}' +
  'td:first-child{width:100%;overflow-wrap:anywhere}' +
  '.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}td.n,td:last-child{color:var(--mu)}' +
  '.m,td:last-child{white-space:nowrap;font-variant-numeric:tabular-nums}' +
  'tbody tr:hover,tbody tr:focus-within{background:var(--hi)}' +
  // CSS icons, one per kind of entry: a folder with its tab, or a page with a folded corner in the kind's colour.
  'tbody td:first-child::before{content:"";display:inline-block;width:.8em;height:1em;margin-right:.55em;vertical-align:-.15em;' +
  'border-radius:2px;background:linear-gradient(225deg,transparent .26em,var(--k,#8c959f) 0)}' +
  'tr.d td:first-child::before{width:1.05em;height:.8em;vertical-align:-.05em;border-radius:1px 2px 2px 2px;background:#d4a72c;' +
  'box-shadow:.2em -.15em 0 -.05em #d4a72c}tr.up td:first-child::before{visibility:hidden}' +
  '.k-img{--k:#a371f7}.k-code{--k:#2f81f7}.k-doc{--k:#e5534b}.k-arc{--k:#db8b0b}.k-av{--k:#db61a2}.k-txt{--k:#768390}' +
  '.readme{margin-top:2rem;border:1px solid var(--bd);border-radius:6px;padding:0 1.25rem;overflow-wrap:anywhere}' +
  '.readme h2.mu{font-size:.85rem;font-weight:600;margin:0 -1.25rem;padding:.5rem 1.25rem;border-bottom:1px solid var(--bd)}' +
  '.readme img{max-width:100%}.readme pre{overflow:auto;background:var(--hi);padding:.75rem;border-radius:6px}' +
  '.readme code{font:.9em ui-monospace,monospace}.readme table{width:auto}' +
  '@media(max-width:40rem){body{padding:.5rem;font-size:14px}th,td{padding:.3rem .25rem}.m{white-space:normal}td.n,td:last-child{font-size:12px}}';

/**
 * The page's behaviour, progressive: local times, the live filter, keyboard
 * navigation (`/` focuses the filter, arrows move through the entries, Enter
 * opens, Escape clears the filter). Without it the page is complete; the
 * filter form then asks the server (`?q=`).
 */
const LISTING_SCRIPT = `(function () {
  var d = document, body = d.querySelector('tbody'), f = d.getElementById('q'), count = d.getElementById('count');
  if (!body || !f) return;
  var rows = [].slice.call(body.querySelectorAll('tr[data-name]'));
  var two = function (n) { return (n < 10 ? '0' : '') + n; };
  rows.forEach(function (r) {
    var t = new Date(r.getAttribute('data-mtime')), c = r.cells[2], s = r.cells[1];
    if (!isNaN(t)) { c.textContent = t.getFullYear() + '-' + two(t.getMonth() + 1) + '-' + two(t.getDate()) + ' ' + two(t.getHours()) + ':' + two(t.getMinutes()); c.title = t.toString(); }
    if (r.hasAttribute('data-size')) s.title = Number(r.getAttribute('data-size')).toLocaleString() + ' bytes';
  });
  var tz = d.getElementById('tz');
  if (tz) tz.textContent = '(local)';
  var label = count.textContent;
  function filter() {
    var q = f.value.trim().toLowerCase(), shown = 0;
    rows.forEach(function (r) {
      var hit = !q || r.getAttribute('data-name').toLowerCase().indexOf(q) >= 0;
      r.toggleAttribute('hidden', !hit);
      if (hit) shown++;
    });
    count.textContent = q ? shown + ' of ' + rows.length + ' shown' : label;
  }
  f.addEventListener('input', filter);
  function links() {
    return [].slice.call(body.querySelectorAll('tr:not([hidden]) a'));
  }
  d.addEventListener('keydown', function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var a = d.activeElement, typing = a && (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA' || a.isContentEditable);
    if (e.key === '/' && !typing) { e.preventDefault(); f.focus(); f.select(); return; }
    if (e.key === 'Escape' && a === f) { f.value = ''; filter(); return; }
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    if (typing && a !== f) return;
    var l = links(), i = l.indexOf(a);
    if (!l.length) return;
    e.preventDefault();
    if (e.key === 'ArrowDown') l[i < 0 ? 0 : Math.min(i + 1, l.length - 1)].focus();
    else if (i > 0) l[i - 1].focus();
    else f.focus();
  });
  if (f.value) filter();
})();`;

const STYLE_HASH = cspHash(LISTING_CSS);
const SCRIPT_HASH = cspHash(LISTING_SCRIPT);
const extraHashes = new Map<string, string>();

function hashOf(script: string): string {
  let hash = extraHashes.get(script);
  if (hash === undefined) {
    hash = cspHash(script);
    if (extraHashes.size < 64) extraHashes.set(script, hash);
  }
  return hash;
}

/**
 * The listing's Content-Security-Policy: nothing by default, its own style
 * and script by hash, plus the hashes of the extras' scripts; images from
 * the server itself only (a README's remote images are not fetched: the
 * visitor's address stays with this server).
 */
export function listingCsp(extras?: PageExtras): string {
  if (!extras || (!extras.scripts?.length && !extras.styles?.length && !extras.scriptUrls?.length)) return PLAIN_CSP;
  return buildCsp(extras);
}

function buildCsp(extras: PageExtras): string {
  const scripts = extras.scripts ?? [];
  const self = extras.scriptUrls?.length ? ["'self'"] : [];
  const scriptSrc = [SCRIPT_HASH, ...scripts.map(hashOf), ...self].join(' ');
  const styleSrc = [STYLE_HASH, ...(extras.styles ?? []).map(hashOf)].join(' ');
  const connect = scripts.length > 0 || self.length > 0 ? "connect-src 'self'; " : '';
  return (
    `default-src 'none'; style-src ${styleSrc}; script-src ${scriptSrc}; img-src 'self'; ${connect}` +
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
  );
}

const PLAIN_CSP = buildCsp({});

/** Extension → kind of file, for the icon's colour (a hint, never used to decide anything). */
const KINDS: Record<string, string> = {};
for (const [kind, exts] of Object.entries({
  img: 'png jpg jpeg gif webp avif svg ico bmp tif tiff heic',
  code: 'js mjs cjs ts tsx jsx py rb php pl sh bash c h cc cpp hpp rs go java kt swift cs css scss html htm json yaml yml toml xml sql lua',
  doc: 'pdf doc docx odt xls xlsx ods ppt pptx odp epub',
  arc: 'zip tar gz tgz bz2 xz zst 7z rar jar deb rpm iso dmg',
  av: 'mp3 wav flac ogg oga opus m4a aac mp4 m4v mkv webm mov avi',
  txt: 'txt md markdown rst csv tsv log ini conf cfg',
})) {
  for (const ext of exts.split(' ')) KINDS[ext] = kind;
}

function kindOf(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? KINDS[name.slice(dot + 1).toLowerCase()] : undefined;
}

/**
 * Breadcrumbs: every ancestor of the folder is a link (the last one, the
 * folder itself, is marked current). Under a base path they start at it: the
 * server answers nothing above it.
 */
function breadcrumbs(urlPath: string, basePath: string): string {
  const local = basePath !== '' && urlPath.startsWith(basePath + '/') ? urlPath.slice(basePath.length) : urlPath;
  const parts = local.split('/').filter((p) => p !== '');
  let href = basePath + '/';
  const links = [`<a class="bc" href="${escapeHtml(href)}">${escapeHtml(safeDecode(href))}</a>`];
  parts.forEach((part, i) => {
    href += part + '/';
    const current = i === parts.length - 1 ? ' aria-current="page"' : '';
    links.push(`<a class="bc"${current} href="${escapeHtml(href)}">${escapeHtml(safeDecode(part))}/</a>`);
  });
  return links.join('');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const COLUMNS: readonly [SortKey, string, string][] = [
  ['name', 'Name', ''],
  ['size', 'Size', ' class="n"'],
  ['mtime', 'Modified', ' class="m"'],
];

/** The column headers: links that sort (the current column shows its order and flips it). */
function headerRow(view: ListingView): string {
  const cells = COLUMNS.map(([key, label, cls]) => {
    const current = view.sort === key;
    const sort = current ? ` aria-sort="${view.order === 'asc' ? 'ascending' : 'descending'}"` : '';
    const arrow = current ? (view.order === 'asc' ? ' \u2191' : ' \u2193') : '';
    const href = escapeHtml(sortQuery(key, nextOrder(view, key), view.q));
    const tz = key === 'mtime' ? ' <span id="tz">(UTC)</span>' : '';
    return `<th${cls}${sort}><a class="s" href="${href}">${label}${arrow}</a>${tz}</th>`;
  });
  return `<tr>${cells.join('')}</tr>`;
}

function entryRow(e: ListingEntry): string {
  const dir = e.type === 'directory';
  const slash = dir ? '/' : '';
  const kind = dir ? undefined : kindOf(e.name);
  const cls = dir ? 'd' : kind ? `f k-${kind}` : 'f';
  const size = e.size === null ? '' : ` data-size="${e.size}"`;
  const when = e.mtime.slice(0, 16).replace('T', ' ');
  return (
    `<tr class="${cls}" data-name="${escapeHtml(e.name)}"${size} data-mtime="${e.mtime}">` +
    `<td><a href="${encodeSegment(e.name)}${slash}">${escapeHtml(e.name)}${slash}</a></td>` +
    `<td class="n">${e.size === null ? '-' : formatSize(e.size)}</td><td>${when}</td></tr>`
  );
}

function countText(shown: readonly ListingEntry[], total: number, q: string): string {
  if (q !== '') return `${shown.length} of ${total} ${total === 1 ? 'entry' : 'entries'} match \u201c${escapeHtml(q)}\u201d`;
  const dirs = shown.filter((e) => e.type === 'directory').length;
  const files = shown.length - dirs;
  return `${dirs} ${dirs === 1 ? 'folder' : 'folders'}, ${files} ${files === 1 ? 'file' : 'files'}`;
}

/** The filter form: live with JavaScript, a GET of `?q=` (keeping the sort) without it. */
function filterForm(view: ListingView): string {
  const keep =
    (view.sort !== DEFAULT_VIEW.sort ? `<input type="hidden" name="sort" value="${view.sort}">` : '') +
    (view.order !== DEFAULT_VIEW.order ? `<input type="hidden" name="order" value="${view.order}">` : '');
  return (
    `<form method="get" role="search"><input type="search" id="q" name="q" value="${escapeHtml(view.q)}" ` +
    `placeholder="Filter (press /)" aria-label="Filter by name" autocomplete="off">${keep}<button>Filter</button></form>`
  );
}

/**
 * The HTML page for a listing, entries in the order given. Names are
 * HTML-escaped for display and percent-encoded (RFC 3986) in relative
 * links, so every name round-trips (spaces, `#`, `?`, `%`, quotes,
 * non-ASCII).
 */
export function renderListingHtml(urlPath: string, entries: readonly ListingEntry[], isRoot: boolean, options: ListingPageOptions = {}): string {
  const view = options.view ?? DEFAULT_VIEW;
  const title = `Index of ${escapeHtml(safeDecode(urlPath))}`;
  const rows: string[] = [];
  if (!isRoot) rows.push('<tr class="up"><td><a href="../">../</a></td><td class="n">-</td><td>-</td></tr>');
  for (const e of entries) rows.push(entryRow(e));
  const archive = options.archives ? `<a class="dl" href="?download=tar" download>Download .tar</a>` : '';
  const extras = options.extras;
  const scripts =
    [LISTING_SCRIPT, ...(extras?.scripts ?? [])].map((s) => `<script type="module">${s}</script>`).join('\n') +
    (extras?.scriptUrls ?? []).map((u) => `<script src="${escapeHtml(u)}" defer></script>`).join('');
  const extraStyles = (extras?.styles ?? []).map((s) => `<style>${s}</style>`).join('');
  const readme = options.readmeHtml ? `<article class="readme"><h2 class="mu">README.md</h2>\n${options.readmeHtml}</article>\n` : '';
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title>` +
    `<style>${LISTING_CSS}</style>${extraStyles}</head><body>\n<h1>Index of ${breadcrumbs(urlPath, options.basePath ?? '')}</h1>\n` +
    // Spaces between the bar's items: text browsers show them on one line.
    `<div class="bar">${filterForm(view)}\n<span id="count" class="mu">${countText(entries, options.total ?? entries.length, view.q)}</span>\n${archive}</div>\n` +
    `<table><thead>${headerRow(view)}</thead><tbody>\n` +
    rows.join('\n') +
    `\n</tbody></table>\n${extras?.html ?? ''}${readme}${scripts}\n</body></html>\n`
  );
}
