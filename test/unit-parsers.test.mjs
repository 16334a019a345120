// Table tests of the small pure parsers and renderers: command lines, request
// targets, path encoding, log lines, HTML escaping, listings, config specs and
// start-up validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitCommandLine } from '../dist/argv.js';
import { parseRequestTarget, encodeSegment, encodePath } from '../dist/request-path.js';
import { escapeLogText, formatAccess } from '../dist/log.js';
import { renderListingHtml } from '../dist/static/listing.js';
import { HttpError, escapeHtml, renderErrorPage } from '../dist/errors.js';
import { ConfigError, parseRouteSpec, parseInterpreterSpec, resolveConfig } from '../dist/config.js';
import { scriptDirectoryOf } from '../dist/server-code.js';
import { tempDir } from './helpers.mjs';

// --- splitCommandLine ---

const SPLIT_OK = [
  ['', []],
  ['   \t ', []],
  ['python3 scripts/hello.py', ['python3', 'scripts/hello.py']],
  ['  a   b  ', ['a', 'b']],
  ['a\tb\t\tc', ['a', 'b', 'c']],
  ['a\nb', ['a', 'b']],
  ["'a b' c", ['a b', 'c']],
  ['"a b" c', ['a b', 'c']],
  ["''", ['']],
  ['""', ['']],
  ["a '' b", ['a', '', 'b']],
  ['a "" b', ['a', '', 'b']],
  ['a\\ b', ['a b']],
  ['a\\\\b', ['a\\b']],
  ['\\"x', ['"x']],
  ["\\'x", ["'x"]],
  ['a\\|b', ['a|b']],
  ['a\\;b', ['a;b']],
  ['\\$HOME', ['$HOME']],
  ["'$HOME' '`x`' '|;&<>*?'", ['$HOME', '`x`', '|;&<>*?']],
  ["'a\\b'", ['a\\b']],
  ['"a\\"b"', ['a"b']],
  ['"a\\\\b"', ['a\\b']],
  ['"\\$x"', ['$x']],
  ['"\\`x"', ['`x']],
  ['"a\\nb"', ['a\\nb']],
  ['"it\'s"', ["it's"]],
  ['a"b c"d', ['ab cd']],
  ["a'b'\"c\"d", ['abcd']],
  ['"a\tb"', ['a\tb']],
  ['--flag=value -x', ['--flag=value', '-x']],
  ['a~b', ['a~b']],
  ['"|;&<>*?~"', ['|;&<>*?~']],
  ['café ☕', ['café', '☕']],
];

for (const [line, want] of SPLIT_OK) {
  test(`splitCommandLine(${JSON.stringify(line)})`, () => {
    assert.deepEqual(splitCommandLine(line), want);
  });
}

const SPLIT_REFUSED = [
  'a | b',
  'a|b',
  'a; b',
  'a && b',
  'a & b',
  'a > out',
  'a < in',
  'echo $VAR',
  'echo ${VAR}',
  'echo "$VAR"',
  'echo `id`',
  'echo "`id`"',
  'echo $(id)',
  '(a)',
  'ls *.txt',
  'ls ?',
  'ls [ab]',
  'echo {a,b}',
  '~/bin/x',
  "'unterminated",
  'a "unterminated',
  '"a\\"',
  'trailing\\',
];

for (const line of SPLIT_REFUSED) {
  test(`splitCommandLine refuses ${JSON.stringify(line)}`, () => {
    assert.throws(() => splitCommandLine(line), Error);
  });
}

// --- parseRequestTarget ---

const TARGET_OK = [
  ['/', { segments: [], query: '', canonical: true }],
  ['/a', { segments: ['a'], trailingSlash: false, query: '', canonical: true, decoded: '/a' }],
  ['/a/b/', { segments: ['a', 'b'], trailingSlash: true, query: '', canonical: true, decoded: '/a/b/' }],
  ['/a/b.txt?x=1&y=%20+z', { segments: ['a', 'b.txt'], trailingSlash: false, query: 'x=1&y=%20+z', canonical: true, decoded: '/a/b.txt' }],
  ['/a?', { segments: ['a'], trailingSlash: false, query: '', canonical: true, decoded: '/a' }],
  ['/a?b?c', { segments: ['a'], trailingSlash: false, query: 'b?c', canonical: true, decoded: '/a' }],
  ['/a?../../etc', { segments: ['a'], trailingSlash: false, query: '../../etc', canonical: true, decoded: '/a' }],
  ['/a//b', { segments: ['a', 'b'], trailingSlash: false, query: '', canonical: false, decoded: '/a//b' }],
  ['//a', { segments: ['a'], trailingSlash: false, query: '', canonical: false, decoded: '//a' }],
  ['//', { segments: [], trailingSlash: true, query: '', canonical: false, decoded: '//' }],
  ['/a/./b', { segments: ['a', 'b'], trailingSlash: false, query: '', canonical: false, decoded: '/a/./b' }],
  ['/./', { segments: [], trailingSlash: true, query: '', canonical: false, decoded: '/./' }],
  ['/a/.', { segments: ['a'], trailingSlash: false, query: '', canonical: false, decoded: '/a/.' }],
  ['/a/%2e/b', { segments: ['a', 'b'], trailingSlash: false, query: '', canonical: false, decoded: '/a/./b' }],
  ['/%2F/evil.example', { segments: ['evil.example'], trailingSlash: false, query: '', canonical: false, decoded: '///evil.example' }],
  ['/a+b', { segments: ['a+b'], trailingSlash: false, query: '', canonical: true, decoded: '/a+b' }],
  ['/a%2Bb', { segments: ['a+b'], trailingSlash: false, query: '', canonical: true, decoded: '/a+b' }],
  ['/a%20b', { segments: ['a b'], trailingSlash: false, query: '', canonical: true, decoded: '/a b' }],
  ['/%25', { segments: ['%'], trailingSlash: false, query: '', canonical: true, decoded: '/%' }],
  ['/%2525', { segments: ['%25'], trailingSlash: false, query: '', canonical: true, decoded: '/%25' }],
  ['/caf%C3%A9/%E2%98%95', { segments: ['café', '☕'], trailingSlash: false, query: '', canonical: true, decoded: '/café/☕' }],
  ['/a%3Fb%23c', { segments: ['a?b#c'], trailingSlash: false, query: '', canonical: true, decoded: '/a?b#c' }],
  ['/foo..bar.txt', { segments: ['foo..bar.txt'], trailingSlash: false, query: '', canonical: true, decoded: '/foo..bar.txt' }],
  ['/...', { segments: ['...'], trailingSlash: false, query: '', canonical: true, decoded: '/...' }],
  ['/.hidden', { segments: ['.hidden'], trailingSlash: false, query: '', canonical: true, decoded: '/.hidden' }],
  ['/a#frag', { segments: ['a'], trailingSlash: false, query: '', canonical: true, decoded: '/a' }],
  ['http://h/x?y', { segments: ['x'], trailingSlash: false, query: 'y', canonical: true, decoded: '/x' }],
  ['HTTPS://h:8443/x/', { segments: ['x'], trailingSlash: true, query: '', canonical: true, decoded: '/x/' }],
  ['http://h', { segments: [], query: '', canonical: true, decoded: '/' }],
  ['http://h?q=1', { segments: [], query: 'q=1', canonical: true, decoded: '/' }],
];

for (const [target, want] of TARGET_OK) {
  test(`parseRequestTarget(${JSON.stringify(target)})`, () => {
    const got = parseRequestTarget(target);
    for (const [key, value] of Object.entries(want)) assert.deepEqual(got[key], value, key);
  });
}

const TARGET_400 = [
  '/..',
  '/../etc/passwd',
  '/a/../b',
  '/a/..',
  '/a/../',
  '/%2e%2e/etc/passwd',
  '/%2E%2E',
  '/.%2e/x',
  '/%2e./x',
  '/a%2f..%2fb',
  '/a%2f%2e%2e',
  '/%',
  '/a%',
  '/a%2',
  '/%zz',
  '/%g0',
  '/%ff',
  '/%c3',
  '/%c0%ae%c0%ae/',
  '/%c0%af',
  '/%ed%a0%80',
  '/%00',
  '/a%00.txt',
  '/a\0b',
  '/a\\b',
  '/..\\x',
  '/%5c',
  '/%5C..%5Cetc',
  'a/b',
  '',
  '*',
  '../x',
  'ftp://h/x',
  'http:/x',
  'http://h/../x',
];

for (const target of TARGET_400) {
  test(`parseRequestTarget(${JSON.stringify(target)}) is 400`, () => {
    assert.throws(
      () => parseRequestTarget(target),
      (err) => err instanceof HttpError && err.status === 400,
    );
  });
}

// --- encodeSegment / encodePath ---

const SEGMENTS = [
  ['plain.txt', 'plain.txt'],
  ['a b', 'a%20b'],
  ['a#b', 'a%23b'],
  ['a?b', 'a%3Fb'],
  ['100%', '100%25'],
  ["it's", 'it%27s'],
  ['"q"', '%22q%22'],
  ['(x)!*', '%28x%29%21%2A'],
  ['a/b', 'a%2Fb'],
  ['a\\b', 'a%5Cb'],
  ['<x>&', '%3Cx%3E%26'],
  ['a+b=c;d,e:f@g', 'a%2Bb%3Dc%3Bd%2Ce%3Af%40g'],
  ['-._~', '-._~'],
  ['café', 'caf%C3%A9'],
  ['☕', '%E2%98%95'],
  ['😀', '%F0%9F%98%80'],
  ['javascript:alert(1)', 'javascript%3Aalert%281%29'],
];

for (const [segment, want] of SEGMENTS) {
  test(`encodeSegment(${JSON.stringify(segment)})`, () => {
    const got = encodeSegment(segment);
    assert.equal(got, want);
    assert.match(got, /^[A-Za-z0-9\-._~%]*$/, 'only unreserved characters and escapes');
    assert.equal(decodeURIComponent(got), segment, 'round-trips');
  });
}

const PATHS = [
  [[], false, '/'],
  [[], true, '/'],
  [['a'], false, '/a'],
  [['a'], true, '/a/'],
  [['a b', 'c#d'], false, '/a%20b/c%23d'],
  [['dir', 'café ☕'], true, '/dir/caf%C3%A9%20%E2%98%95/'],
  [['evil.example'], false, '/evil.example'],
  [['a/b'], false, '/a%2Fb'],
  [['\\evil.example'], false, '/%5Cevil.example'],
];

for (const [segments, slash, want] of PATHS) {
  test(`encodePath(${JSON.stringify(segments)}, ${slash})`, () => {
    const got = encodePath(segments, slash);
    assert.equal(got, want);
    assert.ok(!got.startsWith('//'), 'never scheme-relative');
  });
}

// The JSDoc promises a single leading slash followed by a non-empty segment, whatever the input.
const PATHS_NEVER_SCHEME_RELATIVE = [
  [['', 'evil.example'], false],
  [[''], true],
];

for (const [segments, slash] of PATHS_NEVER_SCHEME_RELATIVE) {
  test(`encodePath(${JSON.stringify(segments)}, ${slash}) never starts with //`, () => {
    const got = encodePath(segments, slash);
    assert.ok(!got.startsWith('//'), `got ${got}`);
    assert.ok(got.startsWith('/'));
  });
}

test('encodePath round-trips through parseRequestTarget', () => {
  const names = [['a b', '#', '?', '%', "'", '"', 'café', '☕', '..x', '+']];
  for (const segments of names) {
    for (const slash of [false, true]) {
      const parsed = parseRequestTarget(encodePath(segments, slash));
      assert.deepEqual(parsed.segments, segments);
      assert.equal(parsed.trailingSlash, slash);
      assert.equal(parsed.canonical, true);
      assert.equal(parsed.query, '');
    }
  }
});

// --- escapeLogText / formatAccess ---

const LOG_TEXT = [
  ['/plain/path?x=1', '/plain/path?x=1'],
  ['a\x1b[31mb', 'a\\x1b[31mb'],
  ['a\rb', 'a\\x0db'],
  ['a\nb', 'a\\x0ab'],
  ['a\r\n127.0.0.1 GET /forged 200', 'a\\x0d\\x0a127.0.0.1 GET /forged 200'],
  ['a\0b', 'a\\x00b'],
  ['\x01\x07\x08\t\x0b\x0c\x1f', '\\x01\\x07\\x08\\x09\\x0b\\x0c\\x1f'],
  ['a\x7fb', 'a\\x7fb'],
  ['\x80\x85\x9b\x9f', '\\x80\\x85\\x9b\\x9f'],
  ['a\\b', 'a\\\\b'],
  ['\\x1b', '\\\\x1b'],
  ['café \xa0 ☕', 'café \xa0 ☕'],
  [' ', ' '],
];

for (const [input, want] of LOG_TEXT) {
  test(`escapeLogText(${JSON.stringify(input)})`, () => {
    const got = escapeLogText(input);
    assert.equal(got, want);
    assert.doesNotMatch(got, /[\x00-\x1f\x7f-\x9f]/, 'no control characters left');
  });
}

const TIME = new Date('2024-01-02T03:04:05.678Z');
const BASE = { time: TIME, client: '127.0.0.1', method: 'GET', path: '/a', status: 200, bytes: 5, ms: 1.234 };

const ACCESS_TEXT = [
  { name: 'plain', rec: {}, want: '2024-01-02T03:04:05.678Z 127.0.0.1 GET /a 200 5 1.2ms' },
  { name: 'aborted', rec: { aborted: true, status: 206 }, want: '2024-01-02T03:04:05.678Z 127.0.0.1 GET /a 206 5 1.2ms aborted' },
  {
    name: 'script exit',
    rec: { script: { exit: 3, signal: null, ms: 12.345 } },
    want: '2024-01-02T03:04:05.678Z 127.0.0.1 GET /a 200 5 1.2ms exit=3 script=12.3ms',
  },
  {
    name: 'script signal',
    rec: { status: 504, script: { exit: null, signal: 'SIGKILL', ms: 60000 } },
    want: '2024-01-02T03:04:05.678Z 127.0.0.1 GET /a 504 5 1.2ms signal=SIGKILL script=60000ms',
  },
  {
    name: 'error escaped',
    rec: { status: 502, error: 'bad\nline\x1b' },
    want: '2024-01-02T03:04:05.678Z 127.0.0.1 GET /a 502 5 1.2ms error="bad\\x0aline\\x1b"',
  },
  {
    name: 'method and path escaped',
    rec: { method: 'G\x1bT', path: '/a\r\nX 200' },
    want: '2024-01-02T03:04:05.678Z 127.0.0.1 G\\x1bT /a\\x0d\\x0aX 200 200 5 1.2ms',
  },
];

for (const c of ACCESS_TEXT) {
  test(`formatAccess text: ${c.name}`, () => {
    const line = formatAccess({ ...BASE, ...c.rec }, 'text');
    assert.equal(line, c.want);
    assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f]/);
  });
}

const ACCESS_JSON = [
  { name: 'plain', rec: {}, want: { time: '2024-01-02T03:04:05.678Z', client: '127.0.0.1', method: 'GET', path: '/a', status: 200, bytes: 5, ms: 1.2 } },
  {
    name: 'script, aborted, error',
    rec: { aborted: true, script: { exit: null, signal: 'SIGTERM', ms: 7.06 }, error: 'boom' },
    want: {
      time: '2024-01-02T03:04:05.678Z', client: '127.0.0.1', method: 'GET', path: '/a', status: 200, bytes: 5, ms: 1.2,
      aborted: true, exit: null, signal: 'SIGTERM', scriptMs: 7.1, error: 'boom',
    },
  },
  {
    name: 'exit code',
    rec: { script: { exit: 0, signal: null, ms: 1 } },
    want: { time: '2024-01-02T03:04:05.678Z', client: '127.0.0.1', method: 'GET', path: '/a', status: 200, bytes: 5, ms: 1.2, exit: 0, signal: null, scriptMs: 1 },
  },
  {
    name: 'C0 controls in the path',
    rec: { path: '/a\r\n\x1b[2J\0' },
    want: { time: '2024-01-02T03:04:05.678Z', client: '127.0.0.1', method: 'GET', path: '/a\r\n\x1b[2J\0', status: 200, bytes: 5, ms: 1.2 },
  },
  // The text format escapes DEL and C1 (U+009B is CSI); the JSON line must not carry them raw either.
  {
    name: 'DEL and C1 controls in the path',
    rec: { path: '/a\x7f\x9b2J' },
    want: { time: '2024-01-02T03:04:05.678Z', client: '127.0.0.1', method: 'GET', path: '/a\x7f\x9b2J', status: 200, bytes: 5, ms: 1.2 },
  },
];

for (const c of ACCESS_JSON) {
  test(`formatAccess json: ${c.name}`, () => {
    const line = formatAccess({ ...BASE, ...c.rec }, 'json');
    assert.deepEqual(JSON.parse(line), c.want);
    assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f]/, 'no raw control characters in the line');
  });
}

// --- escapeHtml / renderErrorPage ---

const HTML = [
  ['plain', 'plain'],
  ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
  ['a & b', 'a &amp; b'],
  ['&amp;', '&amp;amp;'],
  ['"x"', '&quot;x&quot;'],
  ["'x'", '&#39;x&#39;'],
  ['" onmouseover="alert(1)', '&quot; onmouseover=&quot;alert(1)'],
  ['café ☕', 'café ☕'],
  ['', ''],
];

for (const [input, want] of HTML) {
  test(`escapeHtml(${JSON.stringify(input)})`, () => {
    assert.equal(escapeHtml(input), want);
  });
}

const ERROR_PAGES = [
  // Issue 17: without a message of its own, a page says the status's one sentence and links back.
  { status: 404, message: undefined, has: ['<title>404 Not Found</title>', '<h1>404 Not Found</h1>', '<p>Nothing is served at this address.</p>', '<a href="/">'], hasNot: ['<script'] },
  { status: 502, message: 'The script <b>failed</b> & "quit"', has: ['502 Bad Gateway', '<p>The script &lt;b&gt;failed&lt;/b&gt; &amp; &quot;quit&quot;</p>'], hasNot: ['<b>'] },
  { status: 400, message: "it's", has: ['400 Bad Request', '<p>it&#39;s</p>'], hasNot: ["it's"] },
  { status: 503, message: '', has: ['503 Service Unavailable', '<p>The server is too busy to answer now; try again shortly.</p>'], hasNot: ['<p></p>'] },
  { status: 599, message: undefined, has: ['599 Unknown'], hasNot: [] },
];

for (const c of ERROR_PAGES) {
  test(`renderErrorPage(${c.status}, ${JSON.stringify(c.message)})`, () => {
    const page = renderErrorPage(c.status, c.message);
    assert.ok(page.startsWith('<!DOCTYPE html>'));
    assert.match(page, /<meta charset="utf-8">/);
    for (const s of c.has) assert.ok(page.includes(s), `contains ${s}`);
    for (const s of c.hasNot) assert.ok(!page.includes(s), `does not contain ${s}`);
  });
}

// --- renderListingHtml ---

const MTIME = '2024-05-06T07:08:09.000Z';
const entry = (name, type = 'file', size = 10) => ({ name, type, size: type === 'directory' ? null : size, mtime: MTIME });

const LISTING_NAMES = [
  { name: 'a b.txt', href: 'a%20b.txt', text: 'a b.txt' },
  { name: '#hash', href: '%23hash', text: '#hash' },
  { name: 'q?.txt', href: 'q%3F.txt', text: 'q?.txt' },
  { name: '100%.txt', href: '100%25.txt', text: '100%.txt' },
  { name: "it's.txt", href: 'it%27s.txt', text: 'it&#39;s.txt' },
  { name: 'say "hi".txt', href: 'say%20%22hi%22.txt', text: 'say &quot;hi&quot;.txt' },
  { name: '<img src=x onerror=alert(1)>', href: '%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E', text: '&lt;img src=x onerror=alert(1)&gt;' },
  { name: 'a&b', href: 'a%26b', text: 'a&amp;b' },
  { name: 'javascript:alert(1)', href: 'javascript%3Aalert%281%29', text: 'javascript:alert(1)' },
  { name: 'café ☕', href: 'caf%C3%A9%20%E2%98%95', text: 'café ☕' },
  { name: 'dir x', type: 'directory', href: 'dir%20x/', text: 'dir x/' },
];

for (const c of LISTING_NAMES) {
  test(`renderListingHtml escapes and encodes ${JSON.stringify(c.name)}`, () => {
    const html = renderListingHtml('/d/', [entry(c.name, c.type)], false);
    assert.ok(html.includes(`<a href="${c.href}">${c.text}</a>`), `link for ${c.name}`);
    if (c.name !== c.text.replace(/\/$/, '')) assert.ok(!html.includes(c.name), 'raw name never appears');
  });
}

test('renderListingHtml: every href is percent-encoded and round-trips to its name', () => {
  const entries = LISTING_NAMES.map((c) => entry(c.name, c.type));
  const html = renderListingHtml('/d/', entries, false);
  // The entries' links are the table body's (breadcrumbs and sort headers come before it: issue 17).
  const body = html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>'));
  const hrefs = [...body.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
  assert.equal(hrefs.length, entries.length + 1, 'one per entry plus the parent link');
  assert.equal(hrefs[0], '../');
  for (const [i, href] of hrefs.slice(1).entries()) {
    assert.match(href, /^[A-Za-z0-9\-._~%]+\/?$/, href);
    assert.equal(decodeURIComponent(href.replace(/\/$/, '')), entries[i].name);
  }
});

const LISTING_PAGES = [
  { name: 'root: no parent link', url: '/', entries: [], isRoot: true, has: ['<title>Index of /</title>', '<meta charset="utf-8">'], hasNot: ['href="../"'] },
  { name: 'subdir: parent link', url: '/sub/', entries: [], isRoot: false, has: ['<a href="../">../</a>', 'Index of /sub/'], hasNot: [] },
  {
    name: 'title decoded and escaped',
    url: '/%3Cscript%3Ealert(1)%3C%2Fscript%3E/caf%C3%A9/',
    entries: [],
    isRoot: false,
    has: ['<title>Index of /&lt;script&gt;alert(1)&lt;/script&gt;/café/</title>'],
    hasNot: ['<script>'],
  },
  {
    name: 'sizes and times',
    url: '/',
    entries: [entry('d', 'directory'), entry('small', 'file', 5), entry('kib', 'file', 2048), entry('mib', 'file', 5 * 1024 * 1024)],
    isRoot: true,
    has: ['<td class="n">-</td>', '<td class="n">5 B</td>', '<td class="n">2.0 KiB</td>', '<td class="n">5.0 MiB</td>', '<td>2024-05-06 07:08</td>', '<a href="d/">d/</a>'],
    hasNot: [],
  },
  // Scripts are inline (allowed by hash in the CSP, issue 17), never loaded.
  { name: 'no external assets', url: '/', entries: [entry('x')], isRoot: true, has: [], hasNot: ['<script src', ' src=', '<link', 'src="http', 'href="http', 'url('] },
];

for (const c of LISTING_PAGES) {
  test(`renderListingHtml: ${c.name}`, () => {
    const html = renderListingHtml(c.url, c.entries, c.isRoot);
    assert.ok(html.startsWith('<!DOCTYPE html>'));
    for (const s of c.has) assert.ok(html.includes(s), `contains ${s}`);
    for (const s of c.hasNot) assert.ok(!html.includes(s), `does not contain ${s}`);
  });
}

test('renderListingHtml keeps the order it is given', () => {
  const html = renderListingHtml('/', [entry('z', 'directory'), entry('a'), entry('B')], true);
  const names = [...html.matchAll(/<a href="[^"]*">([^<]*)<\/a>/g)].map((m) => m[1]);
  assert.deepEqual(names, ['z/', 'a', 'B']);
});

// --- parseRouteSpec / parseInterpreterSpec ---

const ROUTES_OK = [
  ['POST /hello=python3 scripts/hello.py', { method: 'POST', path: '/hello', command: 'python3 scripts/hello.py' }],
  ['ANY /api/*=./api.sh', { method: 'ANY', path: '/api/*', command: './api.sh' }],
  ['  GET   /x  =cmd', { method: 'GET', path: '/x', command: 'cmd' }],
  ['GET /x=env A=B c', { method: 'GET', path: '/x', command: 'env A=B c' }],
  ['get /x=cmd', { method: 'get', path: '/x', command: 'cmd' }],
];

for (const [spec, want] of ROUTES_OK) {
  test(`parseRouteSpec(${JSON.stringify(spec)})`, () => {
    assert.deepEqual(parseRouteSpec(spec), want);
  });
}

const ROUTES_BAD = ['', 'POST /x', 'POST /x=', '/x=cmd', 'POST=cmd', '=cmd', 'POST /x y=cmd', 'POST  =cmd', '   =cmd'];

for (const spec of ROUTES_BAD) {
  test(`parseRouteSpec refuses ${JSON.stringify(spec)}`, () => {
    assert.throws(() => parseRouteSpec(spec), ConfigError);
  });
}

const INTERPRETERS_OK = [
  ['.py=python3', ['.py', 'python3']],
  ['.php=php-cgi -q', ['.php', 'php-cgi -q']],
  ['.x=a=b', ['.x', 'a=b']],
];

for (const [spec, want] of INTERPRETERS_OK) {
  test(`parseInterpreterSpec(${JSON.stringify(spec)})`, () => {
    assert.deepEqual(parseInterpreterSpec(spec), want);
  });
}

for (const spec of ['', '.py', '.py=', '=python3', '=']) {
  test(`parseInterpreterSpec refuses ${JSON.stringify(spec)}`, () => {
    assert.throws(() => parseInterpreterSpec(spec), ConfigError);
  });
}

// --- resolveConfig validation ---

/** A fresh root; `files` maps names to contents (config files included). */
function withRoot(files, fn) {
  const dir = tempDir('scriptserve-unit-');
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('resolveConfig: defaults for a plain root', () => {
  withRoot({}, (root) => {
    const c = resolveConfig({ root });
    assert.equal(c.dotfiles, 'ignore');
    assert.equal(c.followSymlinks, false);
    assert.equal(c.listing, true);
    assert.equal(c.cacheControl, 'no-cache');
    assert.equal(c.scriptTimeoutMs, 60000);
    assert.deepEqual(c.cgiDirs, [['cgi-bin'], ['htbin']]);
    assert.deepEqual(c.routes, []);
    assert.ok(Number.isInteger(c.maxScripts) && c.maxScripts > 0);
  });
});

test('resolveConfig: valid values and a route are resolved', () => {
  withRoot({ 'hello.sh': '#!/bin/sh\n' }, (root) => {
    const c = resolveConfig({
      root,
      dotfiles: 'allow',
      scriptTimeout: 1.5,
      maxScripts: 2,
      cache: 60,
      cgiDirs: ['/scripts/'],
      routes: [{ method: 'post', path: '/run/*', command: 'sh hello.sh', mode: 'cgi', timeout: 2 }],
    });
    assert.equal(c.dotfiles, 'allow');
    assert.equal(c.scriptTimeoutMs, 1500);
    assert.equal(c.maxScripts, 2);
    assert.equal(c.cacheControl, 'max-age=60');
    assert.deepEqual(c.cgiDirs, [['scripts']]);
    assert.equal(c.routes.length, 1);
    const r = c.routes[0];
    assert.equal(r.method, 'POST');
    assert.equal(r.path, '/run/');
    assert.equal(r.prefix, true);
    assert.equal(r.mode, 'cgi');
    assert.equal(r.timeoutMs, 2000);
    assert.ok(r.argv[0].startsWith('/') && r.argv[0].endsWith('/sh'), r.argv[0]);
    assert.equal(r.argv[1], join(c.root, 'hello.sh'));
  });
});

test('resolveConfig: routes from scriptserve.json in the root', () => {
  withRoot({ 'scriptserve.json': JSON.stringify({ routes: [{ method: 'GET', path: '/t', command: ['true'] }], maxScripts: 3 }) }, (root) => {
    const c = resolveConfig({ root });
    assert.equal(c.maxScripts, 3);
    assert.equal(c.routes.length, 1);
    assert.equal(c.routes[0].path, '/t');
    assert.equal(c.routes[0].contentType, 'text/plain; charset=utf-8');
  });
});

// Each row: files in the root, options (root filled in) → must throw ConfigError.
const CONFIG_BAD = [
  { name: 'missing root', opts: (root) => ({ root: join(root, 'nope') }) },
  { name: 'file as root', files: { 'f.txt': 'x' }, opts: (root) => ({ root: join(root, 'f.txt') }) },
  { name: "dotfiles 'x'", opts: { dotfiles: 'x' } },
  { name: 'scriptTimeout 0', opts: { scriptTimeout: 0 } },
  { name: 'scriptTimeout negative', opts: { scriptTimeout: -1 } },
  { name: 'scriptTimeout NaN', opts: { scriptTimeout: NaN } },
  { name: 'scriptTimeout Infinity', opts: { scriptTimeout: Infinity } },
  { name: 'maxScripts 1.5', opts: { maxScripts: 1.5 } },
  { name: 'maxScripts 0', opts: { maxScripts: 0 } },
  { name: 'maxBody -1', opts: { maxBody: -1 } },
  { name: 'cache 1.5', opts: { cache: 1.5 } },
  { name: 'headerTimeout 0', opts: { headerTimeout: 0 } },
  { name: 'requestTimeout -5', opts: { requestTimeout: -5 } },
  { name: 'cgiDir without leading slash', opts: { cgiDirs: ['cgi-bin/'] } },
  { name: 'cgiDir /', opts: { cgiDirs: ['/'] } },
  { name: 'cgiDir with ..', opts: { cgiDirs: ['/a/../b/'] } },
  { name: 'unknown interpreter command', opts: { interpreters: { '.py': 'no-such-command-scriptserve-xyz' } } },
  { name: 'interpreter extension without dot', opts: { interpreters: { py: 'sh' } } },
  { name: 'interpreter extension with space', opts: { interpreters: { '.p y': 'sh' } } },
  { name: 'interpreter empty command', opts: { interpreters: { '.py': '' } } },
  { name: 'interpreter command with shell syntax', opts: { interpreters: { '.py': 'sh | x' } } },
  { name: 'route method with a space', opts: { routes: [{ method: 'P OST', path: '/x', command: 'true' }] } },
  { name: 'route method empty', opts: { routes: [{ method: '', path: '/x', command: 'true' }] } },
  { name: 'route method with digits', opts: { routes: [{ method: 'G3T', path: '/x', command: 'true' }] } },
  { name: 'route path without slash', opts: { routes: [{ method: 'GET', path: 'x', command: 'true' }] } },
  { name: 'route path missing', opts: { routes: [{ method: 'GET', command: 'true' }] } },
  { name: 'route mode unknown', opts: { routes: [{ method: 'GET', path: '/x', command: 'true', mode: 'shell' }] } },
  { name: 'route command empty', opts: { routes: [{ method: 'GET', path: '/x', command: '' }] } },
  { name: 'route command empty array', opts: { routes: [{ method: 'GET', path: '/x', command: [] }] } },
  { name: 'route command not found', opts: { routes: [{ method: 'GET', path: '/x', command: 'no-such-command-scriptserve-xyz' }] } },
  { name: 'route command with a pipe', opts: { routes: [{ method: 'GET', path: '/x', command: 'true | true' }] } },
  { name: 'route timeout 0', opts: { routes: [{ method: 'GET', path: '/x', command: 'true', timeout: 0 }] } },
  { name: 'route not an object', opts: { routes: [null] } },
  { name: 'explicit config file missing', opts: (root) => ({ root, configFile: join(root, 'missing.json') }) },
  { name: 'config file invalid JSON', files: { 'scriptserve.json': '{"routes": [' } },
  { name: 'config file not an object', files: { 'scriptserve.json': '[]' } },
  { name: 'config file null', files: { 'scriptserve.json': 'null' } },
  { name: 'config file unknown key', files: { 'scriptserve.json': '{"rootDir": "/"}' } },
  { name: 'config file key root is not allowed', files: { 'scriptserve.json': '{"root": "/"}' } },
  { name: 'config file __proto__ key', files: { 'scriptserve.json': '{"__proto__": {"followSymlinks": true}}' } },
  { name: 'config file routes not an array', files: { 'scriptserve.json': '{"routes": {"method": "GET"}}' } },
  { name: 'config file routes a string', files: { 'scriptserve.json': '{"routes": "GET /x=true"}' } },
  { name: 'config file bad route', files: { 'scriptserve.json': '{"routes": [{"method": "GET", "path": "x", "command": "true"}]}' } },
  { name: 'explicit config file invalid JSON', files: { 'c.json': 'nope' }, opts: (root) => ({ root, configFile: join(root, 'c.json') }) },
  { name: 'config file maxScripts as a string', files: { 'scriptserve.json': '{"maxScripts": "4"}' } },
  // JSON carries no types: a value of the wrong type must fail at start-up, not be used as truthy/falsy or crash later.
  { name: 'config file followSymlinks as a string', files: { 'scriptserve.json': '{"followSymlinks": "false"}' } },
  { name: 'config file cgiDirs as a string', files: { 'scriptserve.json': '{"cgiDirs": "/cgi-bin/"}' } },
  { name: 'config file passEnv as a number', files: { 'scriptserve.json': '{"passEnv": 5}' } },
];

for (const c of CONFIG_BAD) {
  test(`resolveConfig refuses: ${c.name}`, () => {
    withRoot(c.files ?? {}, (root) => {
      const opts = typeof c.opts === 'function' ? c.opts(root) : { root, ...(c.opts ?? {}) };
      assert.throws(() => resolveConfig(opts), (err) => {
        assert.ok(err instanceof ConfigError, `ConfigError expected, got ${err?.constructor?.name}: ${err?.message}`);
        assert.ok(!err.message.includes('\n'), 'one-line message');
        return true;
      });
    });
  });
}

test('scriptDirectoryOf: the script directory a URL path leads into, in any case, the shortest of nested ones', () => {
  const config = { cgiEnabled: true, cgiDirs: [['cgi-bin'], ['app', 'scripts'], ['app', 'scripts', 'deep']] };
  const table = [
    [[], undefined],
    [['cgi-bin'], ['cgi-bin']],
    [['cgi-bin', 'x.py'], ['cgi-bin']],
    [['CGI-BIN', 'x.py'], ['cgi-bin']],
    [['Cgi-Bin'], ['cgi-bin']],
    [['cgi-bin2', 'x.py'], undefined],
    [['cgi'], undefined],
    [['app'], undefined],
    [['app', 'Scripts', 'run.sh'], ['app', 'scripts']],
    [['app', 'scripts', 'deep', 'x'], ['app', 'scripts']],
    [['x', 'cgi-bin'], undefined],
  ];
  for (const [segments, expected] of table) assert.deepEqual(scriptDirectoryOf(config, segments), expected, segments.join('/'));
  assert.equal(scriptDirectoryOf({ ...config, cgiEnabled: false }, ['cgi-bin', 'x.py']), undefined, 'scripts off');
});
