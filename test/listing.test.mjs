// Directory listings over real sockets: order, HTML escaping, percent-encoded
// links that round-trip (followed with raw paths, never through fetch/URL),
// the parent link, HEAD, the JSON form, index.html and `listing: false`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { request, rmSync, startServer, tempDir, writeTree } from './helpers.mjs';

/**
 * Names chosen to be hard to escape and encode. Every name is lower case (or
 * starts with a non-letter), so "sorted by name" means the same order whether
 * the server compares case-sensitively or not.
 */
const FILES = [
  '<script>x.txt',
  'a&b.txt',
  'a&amp;b.txt',
  'dq"sq\'.txt',
  'sp ace.txt',
  'hash#.txt',
  'q?.txt',
  'pct%.txt',
  'pct%41.txt',
  'plus+.txt',
  'semi;colon=eq.txt',
  'paren(1).txt',
  'b.txt',
  'caf\u00e9.txt',
  '\u65e5\u672c\u8a9e.txt',
  'emoji-\u{1F600}.txt',
  'empty.txt',
];
const DIRS = ['<i>dir', 'Alpha-dir', 'beta dir', 'zeta-dir'];
const HIDDEN = ['.hidden-file', '.hidden-dir'];
const content = (name) => (name === 'empty.txt' ? '' : `content of ${name}\n`);

let base;
let root;
let srv;
let noListing;

before(async () => {
  base = tempDir('scriptserve-listing-');
  root = join(base, 'www');
  const tree = {
    'www/top.txt': 'top\n',
    'www/withindex/index.html': '<!DOCTYPE html><title>the index</title><p>index page</p>\n',
    'www/withindex/other.txt': 'other\n',
    'www/list/.hidden-file': 'secret\n',
    'www/list/.hidden-dir/x.txt': 'x\n',
  };
  for (const name of FILES) tree[`www/list/${name}`] = content(name);
  for (const dir of DIRS) tree[`www/list/${dir}/inside.txt`] = `inside ${dir}\n`;
  writeTree(base, tree);
  srv = await startServer({ root, cgi: false });
  noListing = await startServer({ root, cgi: false, listing: false });
});

after(async () => {
  await srv?.close();
  await noListing?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

const get = (path, opts) => request(srv.port, path, opts);

const ENTITIES = { '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'", '&#34;': '"', '&amp;': '&' };
function unescapeHtml(text) {
  return text.replace(/&(lt|gt|quot|amp|#39|#x27|#34);/g, (m) => ENTITIES[m]);
}

/** The links of a listing page, in document order: { href, text (unescaped), rawText }. */
function links(html) {
  return [...html.matchAll(/<a\s+href="([^"]*)"[^>]*>([^<]*)<\/a>/g)].map(([, href, rawText]) => ({
    href,
    rawText,
    text: unescapeHtml(rawText),
  }));
}

/** Resolve a relative href against a directory's URL path without normalizing anything else. */
function resolveHref(dirPath, href) {
  if (href.startsWith('/')) return href;
  if (href === '../') return dirPath.replace(/[^/]+\/$/, '');
  return dirPath + href;
}

/** Expected order: directories first, then files, each by name. */
const EXPECTED = [...[...DIRS].sort().map((d) => d + '/'), ...[...FILES].sort()];

describe('HTML listing', () => {
  test('every entry, directories first then files, sorted by name; dotfiles absent', async () => {
    const res = await get('/list/');
    assert.equal(res.status, 200);
    const html = res.body.toString('utf8');
    const shown = links(html)
      .map((l) => l.text)
      .filter((t) => t !== '../');
    const names = shown.map((t) => t.trim());
    assert.deepEqual(names, EXPECTED);
    for (const hidden of HIDDEN) assert.ok(!html.includes(hidden), `${hidden} is listed`);
  });

  test('UTF-8 declared in the page and in Content-Type', async () => {
    const res = await get('/list/');
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(res.body.toString(), /<meta charset="?utf-8"?>/i);
    assert.ok(res.body.toString('utf8').includes('\u65e5\u672c\u8a9e.txt'), 'non-ASCII names are UTF-8 in the page');
  });

  test('names are HTML-escaped', async () => {
    const html = (await get('/list/')).body.toString('utf8');
    assert.ok(!html.includes('<script>'), 'raw <script> in the page');
    assert.ok(!html.includes('<i>dir'), 'raw <i> in the page');
    assert.ok(html.includes('&lt;script&gt;x.txt'));
    assert.ok(html.includes('a&amp;b.txt'), 'a&b.txt escaped');
    assert.ok(html.includes('a&amp;amp;b.txt'), 'a literal "&amp;" in a name is escaped again');
    for (const link of links(html)) {
      assert.ok(!/[<>"]/.test(link.rawText), `unescaped text ${link.rawText}`);
      assert.ok(!/&(?!(lt|gt|quot|amp|#39|#x27|#34);)/.test(link.rawText), `bare & in ${link.rawText}`);
    }
    assert.ok(links(html).some((l) => l.text === 'dq"sq\'.txt'));
  });

  test('the directory name in the title is escaped too', async () => {
    const res = await get('/list/%3Ci%3Edir/');
    assert.equal(res.status, 200);
    const html = res.body.toString('utf8');
    assert.ok(html.includes('&lt;i&gt;dir'));
    assert.ok(!html.includes('<i>'));
    assert.ok(html.includes('inside.txt'));
  });

  test('links are percent-encoded per RFC 3986', async () => {
    const html = (await get('/list/')).body.toString('utf8');
    for (const { href, text } of links(html)) {
      assert.match(href, /^([A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/, `href ${href} for ${text}`);
      assert.ok(!/[ #?"'<>\\]/.test(href), `href ${href} has a character that breaks a link`);
      assert.ok(!/[^\x21-\x7e]/.test(href), `href ${href} is not ASCII`);
    }
    const hrefFor = (name) => links(html).find((l) => l.text === name)?.href;
    assert.equal(hrefFor('sp ace.txt'), 'sp%20ace.txt');
    assert.equal(hrefFor('hash#.txt'), 'hash%23.txt');
    assert.equal(hrefFor('q?.txt'), 'q%3F.txt');
    assert.equal(hrefFor('pct%.txt'), 'pct%25.txt');
    assert.equal(hrefFor('caf\u00e9.txt'), 'caf%C3%A9.txt');
  });

  test('following every file link returns that file byte for byte', async () => {
    const html = (await get('/list/')).body.toString('utf8');
    const fileLinks = links(html).filter((l) => !l.text.endsWith('/'));
    assert.equal(fileLinks.length, FILES.length);
    for (const { href, text } of fileLinks) {
      const path = resolveHref('/list/', href);
      const res = await get(path);
      assert.equal(res.status, 200, `${text} via ${path}`);
      assert.deepEqual(res.body, Buffer.from(content(text)), `${text} via ${path}`);
    }
  });

  test('following every directory link gives that directory', async () => {
    const html = (await get('/list/')).body.toString('utf8');
    const dirLinks = links(html).filter((l) => l.text.endsWith('/') && l.text !== '../');
    assert.equal(dirLinks.length, DIRS.length);
    for (const { href, text } of dirLinks) {
      assert.ok(href.endsWith('/'), `directory link ${href} ends with a slash`);
      const path = resolveHref('/list/', href);
      const res = await get(path);
      assert.equal(res.status, 200, `${text} via ${path}`);
      const inner = links(res.body.toString('utf8')).find((l) => l.text === 'inside.txt');
      assert.ok(inner, `${text} lists inside.txt`);
      const file = await get(resolveHref(path, inner.href));
      assert.equal(file.body.toString(), `inside ${text.slice(0, -1)}\n`);
    }
  });

  test('a parent link except at the root', async () => {
    const sub = links((await get('/list/')).body.toString('utf8'));
    const parent = sub.find((l) => l.text.trim() === '../' || l.href === '../');
    assert.ok(parent, 'parent link in /list/');
    const up = await get(resolveHref('/list/', parent.href));
    assert.equal(up.status, 200);
    assert.ok(links(up.body.toString('utf8')).some((l) => l.text === 'top.txt'), 'the parent is the root listing');
    const rootLinks = links(up.body.toString('utf8'));
    assert.ok(!rootLinks.some((l) => l.href === '../' || l.text.trim() === '../'), 'parent link at the root');
    assert.ok(rootLinks.some((l) => l.text === 'list/'));
  });

  test('the page loads no external assets', async () => {
    const html = (await get('/list/')).body.toString('utf8');
    // Scripts and styles are inline, each allowed by its hash in the CSP (issue 17); nothing is loaded.
    assert.ok(!/<script[^>]*\ssrc|<link|<img|<iframe|url\(/i.test(html), 'listing loads assets');
    assert.ok(!/https?:\/\//i.test(html), 'listing refers to another site');
  });

  test('HEAD of a listing has the same headers as GET and no body', async () => {
    const g = await get('/list/');
    const h = await get('/list/', { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(h.body.length, 0);
    assert.equal(h.headers['content-length'], String(g.body.length));
    assert.equal(h.headers['content-type'], g.headers['content-type']);
  });
});

describe('JSON listing', () => {
  async function jsonListing(path, accept = 'application/json') {
    const res = await get(path, { headers: { Accept: accept } });
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^application\/json/);
    return { res, data: JSON.parse(res.body.toString('utf8')) };
  }

  test('Accept: application/json gives entries (name, type, size, mtime) in the HTML order', async () => {
    const { data } = await jsonListing('/list/');
    assert.ok(Array.isArray(data.entries));
    const names = data.entries.map((e) => (e.type === 'directory' ? e.name + '/' : e.name));
    assert.deepEqual(names, EXPECTED);
    for (const e of data.entries) {
      assert.ok(e.type === 'directory' || e.type === 'file', `type ${e.type}`);
      const st = statSync(join(root, 'list', e.name));
      assert.equal(e.type, st.isDirectory() ? 'directory' : 'file', e.name);
      if (e.type === 'file') assert.equal(e.size, Buffer.byteLength(content(e.name)), `${e.name} size`);
      const t = typeof e.mtime === 'number' ? e.mtime : Date.parse(e.mtime);
      assert.ok(Number.isFinite(t), `${e.name} mtime ${e.mtime}`);
      assert.ok(Math.abs(t - st.mtimeMs) < 1000, `${e.name} mtime ${e.mtime} vs ${st.mtime.toISOString()}`);
    }
    assert.ok(!data.entries.some((e) => e.name.startsWith('.')), 'dotfiles in JSON');
  });

  test('JSON and HTML listings carry Vary: Accept', async () => {
    const { res } = await jsonListing('/list/');
    assert.ok(/(^|,\s*)accept(\s*,|$)/i.test(res.headers.vary ?? ''), `Vary: ${res.headers.vary}`);
    const html = await get('/list/');
    assert.match(html.headers['content-type'], /^text\/html/);
    assert.ok(/(^|,\s*)accept(\s*,|$)/i.test(html.headers.vary ?? ''), `Vary: ${html.headers.vary}`);
  });

  test('a browser Accept header gets HTML; JSON preferred by q-value gets JSON', async () => {
    const browser = await get('/list/', { headers: { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } });
    assert.match(browser.headers['content-type'], /^text\/html/);
    const { data } = await jsonListing('/list/', 'text/html;q=0.5, application/json');
    assert.equal(data.entries.length, EXPECTED.length);
  });

  test('HEAD of the JSON listing has the same Content-Length as GET', async () => {
    const { res } = await jsonListing('/list/');
    const h = await get('/list/', { method: 'HEAD', headers: { Accept: 'application/json' } });
    assert.equal(h.body.length, 0);
    assert.equal(h.headers['content-length'], String(res.body.length));
  });
});

describe('index.html and listing: false', () => {
  test('index.html is served instead of a listing', async () => {
    const res = await get('/withindex/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.body.toString(), '<!DOCTYPE html><title>the index</title><p>index page</p>\n');
    assert.ok(!res.body.toString().includes('other.txt'));
    const other = await get('/withindex/other.txt');
    assert.equal(other.body.toString(), 'other\n');
  });

  test('listing: false → 403 for a directory without index.html', async () => {
    for (const path of ['/', '/list/', '/list/beta%20dir/']) {
      const res = await request(noListing.port, path);
      assert.equal(res.status, 403, path);
      assert.ok(!res.body.toString().includes('inside.txt') && !res.body.toString().includes('top.txt'), `${path} lists`);
    }
  });

  test('listing: false still serves files and index.html', async () => {
    const file = await request(noListing.port, '/top.txt');
    assert.equal(file.status, 200);
    assert.equal(file.body.toString(), 'top\n');
    const index = await request(noListing.port, '/withindex/');
    assert.equal(index.status, 200);
    assert.ok(index.body.toString().includes('index page'));
  });
});
