import { escapeHtml } from '../errors.js';
import { LIVE_RELOAD_SCRIPT_PATH } from './paths.js';

/**
 * The tag injected into HTML pages: an external script, so it runs under the
 * page's own Content-Security-Policy when that allows `script-src 'self'`
 * (an inline script would need the page's nonce or hash). `basePath` is
 * `--base-path` (`/app`, percent-encoded, or ''), under which every path the
 * browser sees lives.
 */
export function reloadScriptTag(basePath = ''): Buffer {
  return Buffer.from(`<script src="${escapeHtml(basePath + LIVE_RELOAD_SCRIPT_PATH)}"></script>`);
}

/** The tag without a base path. */
export const RELOAD_SCRIPT_TAG = reloadScriptTag();

const CLOSE_BODY = /<\/body\s*>/gi;
const CLOSE_HTML = /<\/html\s*>/gi;

/**
 * The page with the script tag before its last `</body>` (any case), else
 * before its last `</html>`, else at its end (a fragment: browsers still run
 * a script after the body). Pure. The search runs on a latin1 view of the
 * bytes, which maps byte offsets one to one: the tags are ASCII, so this finds
 * them in UTF-8 and every ASCII-compatible encoding.
 */
export function injectScriptTag(html: Buffer, tag: Buffer = RELOAD_SCRIPT_TAG): Buffer {
  const text = html.toString('latin1');
  const at = lastMatch(text, CLOSE_BODY) ?? lastMatch(text, CLOSE_HTML) ?? html.length;
  return Buffer.concat([html.subarray(0, at), tag, html.subarray(at)]);
}

function lastMatch(text: string, pattern: RegExp): number | undefined {
  let last: number | undefined;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) last = m.index;
  return last;
}
