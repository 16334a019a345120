import { HttpError } from './errors.js';
const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i;
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
export function parseRequestTarget(rawUrl) {
    let url = rawUrl;
    if (url.charCodeAt(0) !== 47 /* / */) {
        const m = ABSOLUTE_FORM.exec(url);
        if (!m)
            throw new HttpError(400, { publicMessage: 'The request target must be a path.' });
        url = url.slice(m[0].length);
        if (url === '' || url.charCodeAt(0) === 63 /* ? */)
            url = '/' + url;
        if (url.charCodeAt(0) !== 47)
            throw new HttpError(400, { publicMessage: 'The request target must be a path.' });
    }
    const hash = url.indexOf('#');
    if (hash >= 0)
        url = url.slice(0, hash);
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q + 1);
    let decoded;
    try {
        decoded = rawPath.includes('%') ? decodeURIComponent(rawPath) : rawPath;
    }
    catch {
        throw new HttpError(400, { publicMessage: 'The path has a malformed percent-encoding.' });
    }
    if (decoded.includes('\0') || decoded.includes('\\')) {
        throw new HttpError(400, { publicMessage: 'The path contains a forbidden character.' });
    }
    const parts = decoded.split('/');
    const segments = [];
    // An encoded slash is a separator after decoding; `/a%2Fb` is redirected to `/a/b` rather than served as an alias.
    let canonical = !/%2f/i.test(rawPath);
    // parts[0] is the empty string before the leading slash; the last part is
    // empty exactly when the path ends with a slash.
    for (let i = 1; i < parts.length; i++) {
        const part = parts[i];
        if (part === '..')
            throw new HttpError(400, { publicMessage: 'The path must not contain "..".' });
        if (part === '' || part === '.') {
            if (i !== parts.length - 1 || part === '.')
                canonical = false;
            continue;
        }
        segments.push(part);
    }
    const trailingSlash = decoded.length > 1 && decoded.endsWith('/');
    return { segments, trailingSlash, query, canonical, decoded };
}
/**
 * Percent-encode one path segment per RFC 3986: everything but unreserved
 * characters is escaped, including `'()*!` (which encodeURIComponent keeps),
 * so the result is safe in an HTML attribute and in a Location header.
 */
export function encodeSegment(segment) {
    return encodeURIComponent(segment).replace(/[!'()*]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase());
}
/**
 * Build the canonical, percent-encoded path for segments. It always starts with
 * exactly one `/` followed by a non-empty segment, so it can never be read as a
 * scheme-relative URL (`//evil.example`): no open redirect (CPython gh-87389).
 */
export function encodePath(segments, trailingSlash) {
    const parts = segments.filter((s) => s !== '');
    if (parts.length === 0)
        return '/';
    return '/' + parts.map(encodeSegment).join('/') + (trailingSlash ? '/' : '');
}
