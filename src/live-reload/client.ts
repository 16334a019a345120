import { createHash } from 'node:crypto';
import { LIVE_RELOAD_SCRIPT_PATH, LIVE_RELOAD_STREAM_PATH } from './paths.js';

/** The stream's URL relative to the script's own (so it holds under any --base-path). */
const STREAM_FROM_SCRIPT = LIVE_RELOAD_STREAM_PATH.slice(LIVE_RELOAD_SCRIPT_PATH.lastIndexOf('/') + 1);

/**
 * The script injected into pages. It listens to the event stream: `reload`
 * reloads the page; `css` (every changed file was a stylesheet) swaps the
 * page's same-origin stylesheets in place, each by a copy with a fresh query
 * that replaces it once loaded, so the page neither reloads nor flashes
 * unstyled. Stylesheets whose (decoded) path changed are swapped; when none of the
 * page's links is one of them (a sheet pulled in by `@import`), all are.
 * EventSource reconnects by itself after a network error.
 */
export const CLIENT_SCRIPT = `// scriptserve live reload (--live-reload)
(() => {
  'use strict';
  if (window.__scriptserveLiveReload) return;
  window.__scriptserveLiveReload = true;
  let swaps = 0;
  const script = document.currentScript;
  const source = new EventSource(script ? new URL(${JSON.stringify(STREAM_FROM_SCRIPT)}, script.src) : ${JSON.stringify(LIVE_RELOAD_STREAM_PATH)});
  source.addEventListener('reload', () => location.reload());
  source.addEventListener('css', (event) => {
    let changed;
    try { changed = new Set(JSON.parse(event.data)); } catch { return location.reload(); }
    const links = [...document.querySelectorAll('link[rel~="stylesheet"][href]')]
      .filter((link) => new URL(link.href, location.href).origin === location.origin);
    const path = (link) => { try { return decodeURIComponent(new URL(link.href, location.href).pathname); } catch { return ''; } };
    const hit = links.filter((link) => changed.has(path(link)));
    swaps++;
    for (const link of hit.length ? hit : links) {
      const url = new URL(link.href, location.href);
      url.searchParams.set('scriptserve-reload', String(Date.now()) + '-' + swaps);
      const copy = link.cloneNode();
      copy.href = url.href;
      const done = () => link.remove();
      copy.addEventListener('load', done, { once: true });
      copy.addEventListener('error', done, { once: true });
      link.after(copy);
    }
  });
})();
`;

/** The client script's bytes and strong ETag, computed once. */
export const CLIENT_BODY = Buffer.from(CLIENT_SCRIPT);
export const CLIENT_ETAG = `"${createHash('sha256').update(CLIENT_BODY).digest('base64url').slice(0, 22)}"`;
