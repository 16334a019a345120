import parseRange from 'range-parser';

/** More ranges than this in one request are ignored and the whole file is sent (Apache's MaxRanges idea). */
export const MAX_RANGES = 50;

/** One byte range, inclusive at both ends, inside the representation. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * A Range header resolved against a representation's size:
 * - `ranges`: one or more satisfiable ranges, overlapping and adjacent ones combined (206);
 * - `unsatisfiable`: no range overlaps the representation (416, `Content-Range: bytes *\/size`);
 * - `ignored`: malformed, another unit, or more than MAX_RANGES: send it whole (RFC 9110 14.2 lets a server ignore Range).
 */
export type ByteRanges =
  | { readonly kind: 'ranges'; readonly ranges: readonly ByteRange[] }
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'ignored' };

const UNSATISFIABLE: ByteRanges = { kind: 'unsatisfiable' };
const IGNORED: ByteRanges = { kind: 'ignored' };

/** Parse a Range header (range-parser) and resolve it against `size` bytes. Pure. */
export function resolveRanges(header: string, size: number): ByteRanges {
  const ranges = parseRange(size, clampSuffixes(header, size), { combine: true });
  if (ranges === -1) return UNSATISFIABLE;
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length === 0 || ranges.length > MAX_RANGES) return IGNORED;
  return { kind: 'ranges', ranges };
}

/**
 * RFC 9110 14.1.3: a suffix longer than the representation selects all of it.
 * range-parser drops such a range (its start would be negative), so rewrite
 * `-N` with N > size as `0-` first.
 */
function clampSuffixes(header: string, size: number): string {
  if (size === 0 || !header.includes('-')) return header;
  return header.replace(/(^\s*bytes\s*=\s*|,\s*)-(\d+)(?=\s*(,|$))/gi, (whole, lead: string, n: string) =>
    Number(n) > size ? `${lead}0-` : whole,
  );
}
