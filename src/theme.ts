import { createHash } from 'node:crypto';

/**
 * The look the server's own pages share (listings, error pages): light and
 * dark themes from `prefers-color-scheme`, system fonts, no external assets.
 * Pages carry it in a `<style>` element allowed by its hash in the page's
 * `Content-Security-Policy`, never by `'unsafe-inline'`.
 */
export const THEME_CSS =
  ':root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--mu:#59636e;--ln:#0969da;--bd:#d1d9e0;--hi:#f6f8fa}' +
  '@media(prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--mu:#9198a1;--ln:#58a6ff;--bd:#3d444d;--hi:#151b23}}' +
  'body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:62rem;padding:1rem;background:var(--bg);color:var(--fg)}' +
  'a{color:var(--ln);text-decoration:none}a:hover{text-decoration:underline}' +
  'a:focus-visible,input:focus-visible{outline:2px solid var(--ln);outline-offset:1px}' +
  'h1{font-size:1.3rem;font-weight:600;overflow-wrap:anywhere}.mu{color:var(--mu)}';

/**
 * The error pages' share of the theme: the same colours, in as few bytes as
 * possible (every 404 carries it; issue 3 keeps error pages under 1 KiB).
 */
export const ERROR_CSS =
  ':root{color-scheme:light dark}body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:0 auto;padding:12vh 1rem;' +
  'background:#fff;color:#1f2328}h1{font-size:1.4rem;font-weight:600}p{color:#59636e}a{color:#0969da}' +
  '@media(prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}p{color:#9198a1}a{color:#58a6ff}}';

/** `'sha256-…'`: the CSP source expression that allows exactly this inline script or style. */
export function cspHash(source: string): string {
  return `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;
}
