/** A request target after decoding: what every later step works from. */
export interface RequestPath {
    /** Decoded path segments, with empty and `.` segments removed. `/` is `[]`. */
    readonly segments: readonly string[];
    /** The decoded path ended with `/`. */
    readonly trailingSlash: boolean;
    /** The raw query string, without the `?` (RFC 3875 4.1.7 wants it undecoded). */
    readonly query: string;
    /** False when segments were dropped (`//`, `/./`): the server redirects to the canonical form. */
    readonly canonical: boolean;
    /** The decoded path, as the client spelled it (for PATH_INFO and logs). */
    readonly decoded: string;
}
/**
 * Parse a request target (RFC 9112 3.2): origin-form, or absolute-form whose
 * authority is ignored. The path is percent-decoded exactly once (`+` stays a
 * plus) and split on `/` after decoding, as CPython's `translate_path` does, so
 * `%2F` cannot hide a separator from the checks below.
 *
 * 400 for: a target that is neither form, malformed escapes or invalid UTF-8
 * (which also catches overlong `%c0%ae`), NUL, backslash (a separator on
 * Windows, never needed in a URL path) and any `..` segment. Browsers resolve
 * `..` before sending, so only hand-made requests carry one; refusing them
 * outright is simpler to reason about than clamping them to the root.
 */
export declare function parseRequestTarget(rawUrl: string): RequestPath;
/**
 * Percent-encode one path segment per RFC 3986: everything but unreserved
 * characters is escaped, including `'()*!` (which encodeURIComponent keeps),
 * so the result is safe in an HTML attribute and in a Location header.
 */
export declare function encodeSegment(segment: string): string;
/**
 * Build the canonical, percent-encoded path for segments. It always starts with
 * exactly one `/` followed by a non-empty segment, so it can never be read as a
 * scheme-relative URL (`//evil.example`): no open redirect (CPython gh-87389).
 */
export declare function encodePath(segments: readonly string[], trailingSlash: boolean): string;
