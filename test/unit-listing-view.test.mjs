// Table tests for the listing's pure rules (src/static/listing-view.ts): the
// natural name order, the sort/order/q/download parameters, the sort with
// directories first, the filter, human sizes; and the README's URL rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareNatural,
  DEFAULT_VIEW,
  filterEntries,
  formatSize,
  isDefaultView,
  nextOrder,
  parseListingQuery,
  queryOf,
  sortEntries,
  sortQuery,
} from '../dist/static/listing-view.js';
import { isSafeReadmeUrl, renderReadme } from '../dist/static/readme.js';

// --- compareNatural: each row is a list in the expected order ---

const NATURAL = [
  ['numbers as numbers', ['file1', 'file2', 'file10', 'file20', 'file100']],
  ['case-insensitive', ['apple', 'Banana', 'cherry', 'Date']],
  ['equal ignoring case: upper first (code points), deterministic', ['File', 'file']],
  ['leading zeros compare as the number, then by code point', ['a01', 'a1', 'a2', 'a010']],
  ['numbers longer than 2^53', ['n9007199254740993', 'n90071992547409930', 'n900719925474099300']],
  ['a prefix comes first', ['a', 'a1', 'ab']],
  ['digits before letters, punctuation before digits', ['x-1', 'x1', 'xa']],
  ['several number runs', ['v1.2.9', 'v1.2.10', 'v1.10.1', 'v2.0.0']],
  ['version-like names', ['img_2.png', 'img_10.png', 'IMG_11.png', 'img_100.png']],
  ['non-ASCII after ASCII letters, by code point', ['zebra', 'é', '日本']],
  ['code points, not UTF-16 units', ['\uff01', '\u{1F600}']],
  ['empty name first', ['', '0', 'a']],
];

for (const [what, ordered] of NATURAL) {
  test(`compareNatural: ${what}`, () => {
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        const want = Math.sign(i - j);
        assert.equal(Math.sign(compareNatural(ordered[i], ordered[j])), want, `${JSON.stringify(ordered[i])} vs ${JSON.stringify(ordered[j])}`);
      }
    }
    const shuffled = [...ordered].reverse();
    assert.deepEqual(shuffled.sort(compareNatural), ordered);
  });
}

test('compareNatural is a total order on a mixed set (antisymmetric, transitive by sorting twice)', () => {
  const names = ['b10', 'B2', 'b2', 'a', 'A', 'a 1', 'a1', 'a01', 'a001', '10', '9', '09', 'x.txt', 'X.TXT', '.'];
  const once = [...names].sort(compareNatural);
  const twice = [...once].reverse().sort(compareNatural);
  assert.deepEqual(twice, once);
  for (const a of names) for (const b of names) assert.equal(Math.sign(compareNatural(a, b)) + Math.sign(compareNatural(b, a)), 0, `${a} ${b}`);
});

// --- parseListingQuery ---

const QUERIES = [
  ['', DEFAULT_VIEW],
  ['sort=size', { sort: 'size', order: 'asc', q: '', download: null }],
  ['sort=mtime&order=desc', { sort: 'mtime', order: 'desc', q: '', download: null }],
  ['order=desc', { sort: 'name', order: 'desc', q: '', download: null }],
  ['sort=SIZE', { sort: 'name', order: 'asc', q: '', download: null }],
  ['sort=bogus&order=sideways', { sort: 'name', order: 'asc', q: '', download: null }],
  ['sort=&order=', { sort: 'name', order: 'asc', q: '', download: null }],
  ['q=Foo', { sort: 'name', order: 'asc', q: 'Foo', download: null }],
  ['q=%20a%20b%20', { sort: 'name', order: 'asc', q: 'a b', download: null }],
  ['q=a+b', { sort: 'name', order: 'asc', q: 'a b', download: null }],
  ['q=%zz', { sort: 'name', order: 'asc', q: '%zz', download: null }],
  ['sort=size&sort=name', { sort: 'size', order: 'asc', q: '', download: null }],
  ['download=tar', { sort: 'name', order: 'asc', q: '', download: 'tar' }],
  ['download=zip', { sort: 'name', order: 'asc', q: '', download: null }],
  ['utm_source=x&foo&=bar', { sort: 'name', order: 'asc', q: '', download: null }],
];

for (const [query, want] of QUERIES) {
  test(`parseListingQuery(${JSON.stringify(query)})`, () => {
    assert.deepEqual({ ...parseListingQuery(query) }, { ...want });
  });
}

test('queryOf takes what lies between ? and #', () => {
  assert.equal(queryOf('/a/'), '');
  assert.equal(queryOf('/a/?sort=size'), 'sort=size');
  assert.equal(queryOf('/a/?sort=size#x'), 'sort=size');
  assert.equal(queryOf('/a/?'), '');
});

test('isDefaultView: only name ascending without a filter', () => {
  assert.equal(isDefaultView(DEFAULT_VIEW), true);
  assert.equal(isDefaultView(parseListingQuery('download=tar')), true);
  assert.equal(isDefaultView(parseListingQuery('order=desc')), false);
  assert.equal(isDefaultView(parseListingQuery('sort=size')), false);
  assert.equal(isDefaultView(parseListingQuery('q=x')), false);
});

test('header links: the current column flips, others start name↑ size↓ mtime↓, the filter is kept', () => {
  const v = parseListingQuery('sort=size&order=desc&q=a b');
  assert.equal(nextOrder(v, 'size'), 'asc');
  assert.equal(nextOrder(v, 'name'), 'asc');
  assert.equal(nextOrder(v, 'mtime'), 'desc');
  assert.equal(nextOrder(DEFAULT_VIEW, 'name'), 'desc');
  assert.equal(sortQuery('mtime', 'desc', ''), '?sort=mtime&order=desc');
  assert.equal(sortQuery('name', 'asc', 'a b&c'), '?sort=name&order=asc&q=a%20b%26c');
});

// --- sortEntries / filterEntries ---

const E = (name, type, size, mtime) => ({ name, type, size: type === 'directory' ? null : size, mtime: new Date(mtime).toISOString() });
const ENTRIES = [
  E('file10.txt', 'file', 300, 3000),
  E('Docs', 'directory', null, 5000),
  E('file2.txt', 'file', 100, 1000),
  E('archive', 'directory', null, 1000),
  E('big.bin', 'file', 1000, 2000),
  E('same-size-b', 'file', 100, 4000),
  E('Same-size-a', 'file', 100, 4000),
];
const names = (list) => list.map((e) => e.name);

const SORTS = [
  ['name', 'asc', ['archive', 'Docs', 'big.bin', 'file2.txt', 'file10.txt', 'Same-size-a', 'same-size-b']],
  ['name', 'desc', ['Docs', 'archive', 'same-size-b', 'Same-size-a', 'file10.txt', 'file2.txt', 'big.bin']],
  // Directories have no size: they stay first, by name; equal sizes fall back to names ascending.
  ['size', 'asc', ['archive', 'Docs', 'file2.txt', 'Same-size-a', 'same-size-b', 'file10.txt', 'big.bin']],
  ['size', 'desc', ['archive', 'Docs', 'big.bin', 'file10.txt', 'file2.txt', 'Same-size-a', 'same-size-b']],
  ['mtime', 'asc', ['archive', 'Docs', 'file2.txt', 'big.bin', 'file10.txt', 'Same-size-a', 'same-size-b']],
  ['mtime', 'desc', ['Docs', 'archive', 'Same-size-a', 'same-size-b', 'file10.txt', 'big.bin', 'file2.txt']],
];

for (const [sort, order, want] of SORTS) {
  test(`sortEntries ${sort} ${order}: directories first, stable ties`, () => {
    assert.deepEqual(names(sortEntries(ENTRIES, { sort, order })), want);
    assert.deepEqual(names(sortEntries([...ENTRIES].reverse(), { sort, order })), want, 'independent of the input order');
  });
}

test('sortEntries returns a new array', () => {
  const input = [...ENTRIES];
  sortEntries(input, { sort: 'size', order: 'desc' });
  assert.deepEqual(input, ENTRIES);
});

test('filterEntries: case-insensitive substring of the name', () => {
  assert.deepEqual(names(filterEntries(ENTRIES, 'FILE')), ['file10.txt', 'file2.txt']);
  assert.deepEqual(names(filterEntries(ENTRIES, 'size-A')), ['Same-size-a']);
  assert.deepEqual(names(filterEntries(ENTRIES, '')), names(ENTRIES));
  assert.deepEqual(filterEntries(ENTRIES, 'nothing-matches'), []);
});

const SIZES = [
  [0, '0 B'], [1023, '1023 B'], [1024, '1.0 KiB'], [1536, '1.5 KiB'], [10 * 1024, '10 KiB'],
  [5 * 1024 ** 2, '5.0 MiB'], [3 * 1024 ** 3, '3.0 GiB'], [2 * 1024 ** 4, '2.0 TiB'],
];
for (const [bytes, want] of SIZES) {
  test(`formatSize(${bytes}) = ${want}`, () => assert.equal(formatSize(bytes), want));
}

// --- README links and images ---

const URLS = [
  ['https://example.com/x', true], ['http://example.com', true], ['mailto:a@example.com', true],
  ['docs/guide.md', true], ['../up.png', true], ['/abs', true], ['#anchor', true], ['?q=1', true],
  ['javascript:alert(1)', false], ['JavaScript:alert(1)', false], [' javascript:alert(1)', false],
  ['java\tscript:alert(1)', false], ['java\nscript:alert(1)', false], ['\u0001javascript:x', false],
  ['data:text/html,<script>', false], ['vbscript:x', false], ['file:///etc/passwd', false], ['ftp://x', false],
];
for (const [url, safe] of URLS) {
  test(`isSafeReadmeUrl(${JSON.stringify(url)}) = ${safe}`, () => assert.equal(isSafeReadmeUrl(url), safe));
}

test('renderReadme: raw HTML is text, unsafe links and images lose their URL, safe ones stay', async () => {
  const html = await renderReadme(
    [
      '# Title',
      '',
      '<script>alert(1)</script>',
      '',
      'inline <img src=x onerror=alert(1)> and <b>bold</b>',
      '',
      '[ok](https://example.com/a) [rel](docs/a.md) [bad](javascript:alert(1)) [ent](&#106;avascript:alert(1))',
      '',
      '![pic](img/p.png) ![evil](javascript:alert(1)) <javascript:alert(2)>',
      '',
      '<div onclick="x">block</div>',
    ].join('\n'),
  );
  assert.ok(html.includes('<h1>Title</h1>'), html);
  assert.ok(!/<script|<img src=x|<b>|<div|onerror=alert|onclick="/i.test(html.replace(/&lt;[^]*?&gt;/g, '')), html);
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), html);
  assert.ok(html.includes('<a href="https://example.com/a">ok</a>'), html);
  assert.ok(html.includes('<a href="docs/a.md">rel</a>'), html);
  assert.ok(html.includes('<img src="img/p.png" alt="pic">'), html);
  assert.ok(!/href="\s*javascript|src="\s*javascript/i.test(html), html);
  // A character reference must not smuggle the scheme past the check (the browser decodes it in the attribute).
  assert.ok(!/href="[^"]*&#/i.test(html) && !/<a[^>]*>ent<\/a>/.test(html), html);
  const colon = await renderReadme('[c](javascript&colon;alert(1)) [t](https://a.example/?x=1&amp;y=2 "T&quot;")');
  assert.ok(colon.includes('href="javascript&amp;colon;alert(1)"'), `a named reference stays literal text: ${colon}`);
  assert.ok(colon.includes('<a href="https://a.example/?x=1&amp;y=2" title="T&quot;">t</a>'), colon);
});

// --- the page's extras slot (the uploads issue plugs its form and script in here) ---

import { createHash } from 'node:crypto';
import { listingCsp, renderListingHtml } from '../dist/static/listing-page.js';

test('extras: fragment after the table, scripts and styles inline with their hashes in the CSP', () => {
  const extras = {
    html: '<form class="upload" method="post" enctype="multipart/form-data"><input type="file" name="f"></form>',
    scripts: ['document.body.dataset.dropzone = "on";'],
    styles: ['.upload{margin:1rem 0}'],
  };
  const html = renderListingHtml('/d/', [], false, { extras, readmeHtml: '<p>readme</p>' });
  assert.ok(html.indexOf('</table>') < html.indexOf('<form class="upload"'), 'fragment after the table');
  assert.ok(html.indexOf('<form class="upload"') < html.indexOf('<article class="readme">'), 'fragment before the README');
  assert.ok(html.includes('<script type="module">document.body.dataset.dropzone = "on";</script>'));
  assert.ok(html.includes('<style>.upload{margin:1rem 0}</style>'));
  const csp = listingCsp(extras);
  const hash = (s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
  assert.match(csp, /^default-src 'none'; /);
  assert.ok(csp.includes(hash(extras.scripts[0])) && csp.includes(hash(extras.styles[0])), csp);
  for (const [, body] of html.matchAll(/<script type="module">([^]*?)<\/script>/g)) assert.ok(csp.includes(hash(body)), 'every inline script is allowed');
  for (const [, body] of html.matchAll(/<style>([^]*?)<\/style>/g)) assert.ok(csp.includes(hash(body)), 'every style is allowed');
  assert.ok(csp.includes("connect-src 'self'") && csp.includes("form-action 'self'"), csp);
  assert.ok(!csp.includes('unsafe-inline'));
  // Without extras: no connect-src, the listing's own two hashes only.
  const plain = listingCsp();
  assert.ok(!plain.includes('connect-src'), plain);
  assert.equal(plain.match(/'sha256-/g).length, 2);
  // A same-origin script URL is allowed as 'self' and loaded after the inline scripts.
  const live = { scriptUrls: ['/.well-known/scriptserve/live-reload.js'] };
  assert.match(listingCsp(live), /script-src 'sha256-[^ ]+' 'self';/);
  assert.ok(renderListingHtml('/', [], true, { extras: live }).includes('<script src="/.well-known/scriptserve/live-reload.js" defer></script>'));
});
