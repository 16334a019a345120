/**
 * What a listing request asks for (`?sort=`, `?order=`, `?q=`,
 * `?download=`), and the order and filter that follow from it. Pure: no
 * file system, no HTTP, so the rules are table-tested
 * (test/unit-listing-view.test.mjs).
 */

/** One entry of a directory listing. */
export interface ListingEntry {
  readonly name: string;
  readonly type: 'directory' | 'file';
  /** Bytes for files; null for directories. */
  readonly size: number | null;
  /** Last modification, ISO 8601. */
  readonly mtime: string;
}

export type SortKey = 'name' | 'size' | 'mtime';
export type SortOrder = 'asc' | 'desc';

/** The listing parameters of one request, after unknown values were dropped. */
export interface ListingView {
  readonly sort: SortKey;
  readonly order: SortOrder;
  /** Case-insensitive substring filter on names; '' shows every entry. */
  readonly q: string;
  /** `?download=tar`: the folder as a tar archive. */
  readonly download: 'tar' | null;
}

const SORT_KEYS: ReadonlySet<string> = new Set<SortKey>(['name', 'size', 'mtime']);
const ORDERS: ReadonlySet<string> = new Set<SortOrder>(['asc', 'desc']);

/** Name ascending, everything shown: the view a listing without parameters has (and the one the cache keeps). */
export const DEFAULT_VIEW: ListingView = Object.freeze({ sort: 'name', order: 'asc', q: '', download: null });

/**
 * The view a raw query string (without `?`) asks for. Unknown parameters and
 * unknown values are ignored, never an error (a link from an older version,
 * a typo): each falls back to its default. The first occurrence of a
 * parameter counts.
 */
export function parseListingQuery(query: string): ListingView {
  if (query === '') return DEFAULT_VIEW;
  const params = new URLSearchParams(query);
  const sort = params.get('sort');
  const order = params.get('order');
  return {
    sort: sort !== null && SORT_KEYS.has(sort) ? (sort as SortKey) : 'name',
    order: order !== null && ORDERS.has(order) ? (order as SortOrder) : 'asc',
    q: (params.get('q') ?? '').trim(),
    download: params.get('download') === 'tar' ? 'tar' : null,
  };
}

/** The query part of a request URL (after `?`, before `#`), '' when none. */
export function queryOf(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return '';
  const hash = url.indexOf('#', q);
  return hash < 0 ? url.slice(q + 1) : url.slice(q + 1, hash);
}

/** Is this the view a listing has without parameters (the one worth caching)? */
export function isDefaultView(view: ListingView): boolean {
  return view.sort === 'name' && view.order === 'asc' && view.q === '';
}

/** The query string (with `?`) of a link to another sort, keeping the filter. */
export function sortQuery(sort: SortKey, order: SortOrder, q: string): string {
  return `?sort=${sort}&order=${order}` + (q === '' ? '' : '&q=' + encodeURIComponent(q));
}

/**
 * The order a column header's link asks for: the current column flips its
 * order; another column starts ascending for names and descending for sizes
 * and dates (largest and newest first, what one looks for).
 */
export function nextOrder(view: ListingView, column: SortKey): SortOrder {
  if (view.sort === column) return view.order === 'asc' ? 'desc' : 'asc';
  return column === 'name' ? 'asc' : 'desc';
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * Natural, case-insensitive order for names: runs of digits compare as
 * numbers (`file2` < `file10`, any length, leading zeros ignored), other
 * characters by the code point of their lower-case form. Names that are
 * equal that way (`File1`/`file1`, `a01`/`a1`) are ordered by their code
 * points, so the order is total and the same on every run.
 */
export function compareNatural(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    const cx = x.codePointAt(i)!;
    const cy = y.codePointAt(j)!;
    if (isDigit(cx) && isDigit(cy)) {
      const ei = digitRunEnd(x, i);
      const ej = digitRunEnd(y, j);
      const byNumber = compareDigitRuns(x.slice(i, ei), y.slice(j, ej));
      if (byNumber !== 0) return byNumber;
      i = ei;
      j = ej;
      continue;
    }
    if (cx !== cy) return cx < cy ? -1 : 1;
    i += cx > 0xffff ? 2 : 1;
    j += cy > 0xffff ? 2 : 1;
  }
  if (i < x.length) return 1;
  if (j < y.length) return -1;
  return compareCodePoints(a, b);
}

function digitRunEnd(s: string, from: number): number {
  let end = from;
  while (end < s.length && isDigit(s.charCodeAt(end))) end++;
  return end;
}

/** Two runs of ASCII digits as numbers of any size: fewer significant digits is smaller. */
function compareDigitRuns(a: string, b: string): number {
  const x = a.replace(/^0+(?=.)/, '');
  const y = b.replace(/^0+(?=.)/, '');
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Code point order (not UTF-16 unit order, which puts U+FF01 after an emoji). */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let k = 0; k < Math.min(x.length, y.length); k++) {
    const d = x[k]!.codePointAt(0)! - y[k]!.codePointAt(0)!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

function compareByKey(a: ListingEntry, b: ListingEntry, key: SortKey): number {
  if (key === 'size') return (a.size ?? 0) - (b.size ?? 0);
  if (key === 'mtime') return Date.parse(a.mtime) - Date.parse(b.mtime);
  return compareNatural(a.name, b.name);
}

/**
 * Entries in the view's order: directories first (in either order, as
 * miniserve and every file manager do), then by the key; equal keys
 * (directories have no size, files written in the same millisecond) fall
 * back to names ascending, so the order never depends on the file system's.
 * Returns a new array.
 */
export function sortEntries(entries: readonly ListingEntry[], view: Pick<ListingView, 'sort' | 'order'>): ListingEntry[] {
  const sign = view.order === 'desc' ? -1 : 1;
  return [...entries].sort((a, b) => {
    if (a.type !== b.type) return a.type === 'directory' ? -1 : 1;
    const byKey = compareByKey(a, b, view.sort);
    if (byKey !== 0) return sign * Math.sign(byKey);
    return compareNatural(a.name, b.name);
  });
}

/** Entries whose name contains `q`, case-insensitively (all when `q` is empty). */
export function filterEntries(entries: readonly ListingEntry[], q: string): readonly ListingEntry[] {
  if (q === '') return entries;
  const needle = q.toLowerCase();
  return entries.filter((e) => e.name.toLowerCase().includes(needle));
}

/** The entries a view shows, in its order. */
export function viewEntries(entries: readonly ListingEntry[], view: ListingView): ListingEntry[] {
  return sortEntries(filterEntries(entries, view.q), view);
}

/** `1536` → `1.5 KiB`: binary units, one decimal below 10, as `ls -h` prints them. */
export function formatSize(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
