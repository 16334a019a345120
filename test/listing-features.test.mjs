// The listing's features over real sockets (issue 17): sort and filter
// parameters in HTML and JSON, breadcrumbs, sizes, the CSP's hashes, the page
// budget, the README, `?download=tar` and its contents, and the styled error
// pages with their way back. The browser side is listing-browser.test.mjs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { needProgram, request, rmSync, startServer, tempDir, writeTree } from './helpers.mjs';

let base;
let root;
let srv;
let archives;
let noListing;
let uncached;

const HOSTILE_README = [
  '# Hello <b>there</b>',
  '',
  '<script>window.__pwned = 1</script>',
  '',
  '[site](https://example.com/) [doc](docs/a.md) [bad](javascript:alert(1)) ![x](javascript:alert(2))',
  '',
].join('\n');

before(async () => {
  base = tempDir('scriptserve-listing-features-');
  root = join(base, 'www');
  writeTree(base, {
    'outside/secret.txt': 'outside the root\n',
    'www/sorted/file10.txt': 'x'.repeat(10),
    'www/sorted/file2.txt': 'x'.repeat(2000),
    'www/sorted/File1.txt': 'x'.repeat(300),
    'www/sorted/zz-dir/a.txt': 'a\n',
    'www/sorted/aa-dir/b.txt': 'b\n',
    'www/a/b/c/deep.txt': 'deep\n',
    'www/readme/README.md': HOSTILE_README,
    'www/readme/other.txt': 'other\n',
    'www/bigreadme/README.md': '# big\n' + 'x'.repeat(1024 * 1024),
    'www/pack/one.txt': 'one\n',
    'www/pack/empty.txt': '',
    'www/pack/sub/two.txt': 'two\n',
    'www/pack/sub/deeper/three.txt': 'three\n',
    'www/pack/caf\u00e9 \u2615.txt': 'unicode\n',
    'www/pack/.env': 'TOKEN=secret\n',
    'www/pack/.git/config': '[core]\n',
    'www/pack/.scriptserve-upload-abc123': 'half an upload\n',
    'www/pack/script.py': 'print("code")\n',
    'www/pack/cgi-bin/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
    'www/pack/emptydir': null,
    'www/cgi-bin/hello.sh': { content: '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nhi\\n"\n', mode: 0o755 },
    'www/scriptserve.json': '{}\n',
  });
  // Known dates and sizes for the mtime sort.
  const t = (s) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));
  utimesSync(join(root, 'sorted/file10.txt'), t(30), t(30));
  utimesSync(join(root, 'sorted/file2.txt'), t(10), t(10));
  utimesSync(join(root, 'sorted/File1.txt'), t(20), t(20));
  symlinkSync(join(base, 'outside'), join(root, 'pack', 'out-link'));
  symlinkSync(join(base, 'outside', 'secret.txt'), join(root, 'pack', 'secret-link.txt'));
  symlinkSync(join(root, 'pack', 'sub'), join(root, 'pack', 'sub-link'));
  symlinkSync(join(root, 'pack'), join(root, 'pack', 'sub', 'loop'));
  const common = { root, cgiDirs: ['/cgi-bin/', '/pack/cgi-bin/'], interpreters: { '.py': 'python3' } };
  srv = await startServer(common);
  archives = await startServer({ ...common, archives: true });
  noListing = await startServer({ ...common, archives: true, listing: false });
  uncached = await startServer({ ...common, fileCache: false });
});

after(async () => {
  await srv?.close();
  await archives?.close();
  await noListing?.close();
  await uncached?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

const get = (path, opts, port = srv.port) => request(port, path, opts);
const html = async (path, port) => {
  const res = await get(path, {}, port);
  assert.equal(res.status, 200, path);
  return { res, text: res.body.toString('utf8') };
};
/** Entry names of a listing page, in document order (the table body's links, without ../). */
const entryNames = (text) => {
  const body = text.slice(text.indexOf('<tbody>'), text.indexOf('</tbody>'));
  return [...body.matchAll(/<a href="[^"]*">([^<]*)<\/a>/g)].map((m) => m[1]).filter((n) => n !== '../');
};
const jsonNames = async (path, port) => {
  const res = await get(path, { headers: { Accept: 'application/json' } }, port);
  assert.equal(res.status, 200);
  return JSON.parse(res.body.toString()).entries.map((e) => e.name + (e.type === 'directory' ? '/' : ''));
};

describe('sorting and filtering', () => {
  const ORDERS = [
    ['', ['aa-dir/', 'zz-dir/', 'File1.txt', 'file2.txt', 'file10.txt']],
    ['?sort=name&order=desc', ['zz-dir/', 'aa-dir/', 'file10.txt', 'file2.txt', 'File1.txt']],
    ['?sort=size', ['aa-dir/', 'zz-dir/', 'file10.txt', 'File1.txt', 'file2.txt']],
    ['?sort=size&order=desc', ['aa-dir/', 'zz-dir/', 'file2.txt', 'File1.txt', 'file10.txt']],
    ['?sort=mtime&order=asc', null],
    ['?sort=mtime&order=desc', null],
    ['?q=FILE1', ['File1.txt', 'file10.txt']],
    ['?q=dir&sort=name&order=desc', ['zz-dir/', 'aa-dir/']],
    ['?q=nothing-matches', []],
  ];
  for (const [query, want] of ORDERS) {
    test(`HTML and JSON agree for /sorted/${query}`, async () => {
      const { text } = await html('/sorted/' + query);
      const shown = entryNames(text);
      if (want) assert.deepEqual(shown, want);
      assert.deepEqual(await jsonNames('/sorted/' + query), shown, 'JSON has the same order and filter');
      // Uncached server: the same answer from the file system.
      assert.deepEqual(entryNames((await html('/sorted/' + query, uncached.port)).text), shown);
    });
  }

  test('mtime sorts files by date (directories first, whatever the order)', async () => {
    const asc = entryNames((await html('/sorted/?sort=mtime&order=asc')).text);
    assert.deepEqual(asc.slice(2), ['file2.txt', 'File1.txt', 'file10.txt']);
    const desc = entryNames((await html('/sorted/?sort=mtime&order=desc')).text);
    assert.deepEqual(desc.slice(2), ['file10.txt', 'File1.txt', 'file2.txt']);
    assert.ok(asc.slice(0, 2).every((n) => n.endsWith('/')) && desc.slice(0, 2).every((n) => n.endsWith('/')));
  });

  test('unknown parameters and values are ignored, never an error', async () => {
    const plain = entryNames((await html('/sorted/')).text);
    for (const q of ['?sort=bogus', '?order=sideways', '?sort=', '?utm_source=x', '?q=', '?sort=size%00', '?q=%zz&x', '?download=zip']) {
      const res = await get('/sorted/' + q);
      assert.equal(res.status, 200, q);
      if (!q.startsWith('?q=%zz')) assert.deepEqual(entryNames(res.body.toString()), plain, q);
    }
  });

  test('column headers are links with the sort, the current one marked and flipping', async () => {
    const { text } = await html('/sorted/?sort=size&order=desc&q=file');
    const head = text.slice(text.indexOf('<thead>'), text.indexOf('</thead>'));
    assert.match(head, /<th[^>]*aria-sort="descending"><a class="s" href="\?sort=size&amp;order=asc&amp;q=file">Size \u2193<\/a>/);
    assert.match(head, /href="\?sort=name&amp;order=asc&amp;q=file">Name<\/a>/);
    assert.match(head, /href="\?sort=mtime&amp;order=desc&amp;q=file">Modified<\/a>/);
    // The filter form keeps the sort for the no-JS submit.
    assert.match(text, /<input type="hidden" name="sort" value="size"><input type="hidden" name="order" value="desc">/);
    assert.match(text, /<input type="search" id="q" name="q" value="file"/);
  });

  test('a filter value is escaped where it is shown', async () => {
    const { text } = await html('/sorted/?q=%3Cimg%20src%3Dx%3E%22');
    assert.ok(!text.includes('<img src=x>'), 'raw filter in the page');
    assert.ok(text.includes('value="&lt;img src=x&gt;&quot;"'));
    assert.ok(text.includes('0 of 5 entries match'));
  });
});

describe('page', () => {
  test('breadcrumbs: every ancestor is a link, in order', async () => {
    const { text } = await html('/a/b/c/');
    const h1 = text.slice(text.indexOf('<h1>'), text.indexOf('</h1>'));
    const crumbs = [...h1.matchAll(/<a class="bc"[^>]* href="([^"]*)">([^<]*)<\/a>/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(crumbs, [['/', '/'], ['/a/', 'a/'], ['/a/b/', 'b/'], ['/a/b/c/', 'c/']]);
    assert.equal(h1.replace(/<[^>]*>/g, ''), '<h1>Index of /a/b/c/'.replace(/<[^>]*>/g, ''));
  });

  test('sizes are human with the exact bytes in an attribute; dates in UTC, marked so', async () => {
    const { text } = await html('/sorted/');
    assert.match(text, /<tr class="f k-txt" data-name="file2.txt" data-size="2000" data-mtime="2024-01-01T00:00:10.000Z">.*<td class="n">2.0 KiB<\/td><td>2024-01-01 00:00<\/td><\/tr>/);
    assert.match(text, /<span id="tz">\(UTC\)<\/span>/);
    assert.match(text, /<span id="count" class="mu">2 folders, 3 files<\/span>/);
  });

  test('CSP: nothing by default; every inline script and style allowed by its hash', async () => {
    const { res, text } = await html('/readme/');
    const csp = res.headers['content-security-policy'];
    assert.match(csp, /^default-src 'none'; /);
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp);
    const hash = (s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    const scripts = [...text.matchAll(/<script([^>]*)>([^]*?)<\/script>/g)];
    const styles = [...text.matchAll(/<style>([^]*?)<\/style>/g)];
    assert.equal(scripts.length, 1, 'one inline script (the README\'s <script> is text)');
    assert.equal(styles.length, 1);
    for (const [, attrs, body] of scripts) {
      assert.ok(!/\ssrc=/.test(attrs), 'no external script');
      assert.match(csp, new RegExp(`script-src [^;]*${hash(body).replace(/[+/]/g, '\\$&')}`));
    }
    assert.match(csp, new RegExp(`style-src ${hash(styles[0][1]).replace(/[+/]/g, '\\$&')}(;|$)`));
    assert.ok(!/\sstyle=|\son[a-z]+=/i.test(text.replace(/<script[^]*?<\/script>/g, '')), 'no inline style or handler attributes');
  });

  test('under 20 KiB before the entries', async () => {
    const { text } = await html('/a/b/c/');
    const before = Buffer.byteLength(text.slice(0, text.indexOf('<tbody>')));
    assert.ok(before < 20 * 1024, `${before} bytes before the entries`);
    // And the whole page without entries stays small too (the script comes after them).
    assert.ok(Buffer.byteLength(text) < 20 * 1024, `${Buffer.byteLength(text)} bytes in all`);
  });

  test('README.md is rendered below the table: raw HTML escaped, unsafe links dropped', async () => {
    const { text } = await html('/readme/');
    const table = text.indexOf('</table>');
    const readme = text.indexOf('<article class="readme">');
    assert.ok(readme > table, 'README after the table');
    const article = text.slice(readme, text.indexOf('</article>'));
    assert.ok(article.includes('<h1>Hello &lt;b&gt;there&lt;/b&gt;</h1>'), article);
    assert.ok(article.includes('&lt;script&gt;window.__pwned = 1&lt;/script&gt;'), article);
    assert.ok(article.includes('<a href="https://example.com/">site</a>') && article.includes('<a href="docs/a.md">doc</a>'), article);
    assert.ok(!/javascript:/i.test(article.replace(/>[^<]*</g, '><')), 'javascript: URL kept in an attribute');
  });

  test('a README over 1 MiB is not rendered (the listing still is)', async () => {
    const { text } = await html('/bigreadme/');
    assert.deepEqual(entryNames(text), ['README.md']);
    assert.ok(!text.includes('<article'), 'big README rendered');
  });
});

/** The entries of a tar archive: { name → content (string) or 'dir' }. */
async function untar(buffer) {
  const out = {};
  const ex = extract();
  const done = new Promise((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        out[header.name] = header.type === 'directory' ? 'dir' : Buffer.concat(chunks).toString('utf8');
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(buffer);
  await done;
  return out;
}

describe('?download=tar', () => {
  test('off without --archives, and with listings off: 404', async () => {
    for (const [port, what] of [[srv.port, 'no --archives'], [noListing.port, '--no-listing']]) {
      const res = await get('/pack/?download=tar', {}, port);
      assert.equal(res.status, 404, what);
      assert.ok(!res.body.includes('one.txt'));
    }
    // Without --archives the listing shows no archive link.
    assert.ok(!(await html('/pack/')).text.includes('download=tar'));
    assert.ok((await html('/pack/', archives.port)).text.includes('<a class="dl" href="?download=tar" download>'));
  });

  test('holds exactly what static serving serves', async () => {
    const res = await get('/pack/?download=tar', {}, archives.port);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/x-tar');
    assert.equal(res.headers['content-disposition'], 'attachment; filename="pack.tar"; filename*=UTF-8\'\'pack.tar');
    const entries = await untar(res.body);
    assert.deepEqual(entries, {
      'pack/': 'dir',
      'pack/caf\u00e9 \u2615.txt': 'unicode\n',
      'pack/empty.txt': '',
      'pack/emptydir/': 'dir',
      'pack/one.txt': 'one\n',
      'pack/sub/': 'dir',
      'pack/sub/deeper/': 'dir',
      'pack/sub/deeper/three.txt': 'three\n',
      'pack/sub/two.txt': 'two\n',
      // A symlink inside the root is served through its link, so it is packed there too (its loop back is not).
      'pack/sub-link/': 'dir',
      'pack/sub-link/deeper/': 'dir',
      'pack/sub-link/deeper/three.txt': 'three\n',
      'pack/sub-link/two.txt': 'two\n',
    });
    // Cross-check against static serving: each packed file is served with the same bytes, each left-out one is not.
    for (const [name, content] of Object.entries(entries)) {
      if (content === 'dir') continue;
      const served = await get('/' + name.split('/').map(encodeURIComponent).join('/'), {}, archives.port);
      assert.equal(served.status, 200, name);
      assert.equal(served.body.toString(), content, name);
    }
    // (script.py, mapped to an interpreter, is left out of the archive by isServerCode; whether static
    // serving refuses it too is the CGI extensions issue's to decide, so it is not checked here.)
    for (const path of ['/pack/.env', '/pack/.git/config', '/pack/.scriptserve-upload-abc123', '/pack/out-link/secret.txt', '/pack/secret-link.txt']) {
      assert.equal((await get(path, {}, archives.port)).status, 404, path);
    }
    // A script directory's file is run, never served as a file.
    assert.ok(!(await get('/pack/cgi-bin/run.sh', {}, archives.port)).body.toString().includes('echo hi'));
  });

  test('the root: no config file, no script directory', async () => {
    const res = await get('/?download=tar', {}, archives.port);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-disposition'], /filename="root.tar"/);
    const names = Object.keys(await untar(res.body));
    assert.ok(names.includes('root/sorted/file2.txt') && names.includes('root/readme/README.md'), names.join(' '));
    assert.ok(!names.some((n) => n.includes('scriptserve.json') || n.includes('cgi-bin') || n.includes('.env') || n.includes('secret')), names.join(' '));
  });

  test('HEAD has the headers and no body; a file URL ignores the parameter', async () => {
    const h = await get('/pack/?download=tar', { method: 'HEAD' }, archives.port);
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-type'], 'application/x-tar');
    assert.equal(h.body.length, 0);
    const file = await get('/pack/one.txt?download=tar', {}, archives.port);
    assert.equal(file.body.toString(), 'one\n');
  });

  test('a client that leaves mid-archive stops it; the server goes on', async () => {
    const dir = join(root, 'leave');
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 8; i++) writeFileSync(join(dir, `f${i}.bin`), Buffer.alloc(2 * 1024 * 1024, i));
    const { connect } = await import('node:net');
    const socket = connect(archives.port, '127.0.0.1');
    socket.write('GET /leave/?download=tar HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await new Promise((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('error', reject);
      setTimeout(() => reject(new Error('no first bytes within 5 s')), 5000);
    });
    socket.destroy();
    const after = await get('/pack/one.txt', {}, archives.port);
    assert.equal(after.body.toString(), 'one\n');
    const again = await get('/leave/?download=tar', {}, archives.port);
    assert.equal(Object.keys(await untar(again.body)).length, 9, 'the next archive is whole');
  });

  test('a large file streams whole', async () => {
    const dir = join(root, 'large');
    mkdirSync(dir, { recursive: true });
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    writeFileSync(join(dir, 'big.bin'), big);
    const res = await get('/large/?download=tar', {}, archives.port);
    assert.equal(res.status, 200);
    const out = await untar(res.body);
    assert.equal(Buffer.byteLength(out['large/big.bin'], 'utf8'), big.length);
  });
});

describe('error pages', () => {
  const backLink = (body) => /<a href="([^"]*)">Back to ([^<]*)<\/a>/.exec(body)?.slice(1);

  const CASES = [
    ['/a/b/missing.txt', 404, '/a/b/'],
    ['/a/b/gone/deeper/x.txt', 404, '/a/b/'],
    ['/a/missing-dir/', 404, '/a/'],
    ['/nope.txt', 404, '/'],
    ['/a/.git/config', 404, '/a/'],
    ['/.hidden/x/y', 404, '/'],
    ['/cgi-bin/missing.sh', 404, '/'],
    ['/pack/out-link/nothing', 404, '/pack/'],
  ];
  for (const [path, status, back] of CASES) {
    test(`${path} → ${status}, styled, back to ${back}`, async () => {
      for (const port of [srv.port, uncached.port]) {
        for (let i = 0; i < 2; i++) {
          const res = await get(path, {}, port);
          assert.equal(res.status, status);
          const body = res.body.toString();
          assert.deepEqual(backLink(body), [back, back]);
          assert.match(body, /<style>[^<]+prefers-color-scheme:dark[^<]+<\/style>/);
          assert.match(body, /<h1>404 Not Found<\/h1><p>Nothing is served at this address.<\/p>/);
          const style = /<style>([^<]*)<\/style>/.exec(body)[1];
          const hash = createHash('sha256').update(style).digest('base64');
          assert.equal(res.headers['content-security-policy'], `default-src 'none'; style-src 'sha256-${hash}'`);
          assert.ok(body.length < 1024, `${body.length} bytes`);
          const head = await get(path, { method: 'HEAD' }, port);
          assert.equal(head.headers['content-length'], res.headers['content-length'], 'HEAD announces the same page');
        }
      }
    });
  }

  test('403 (listing off) links to the parent; a redirect page links to its Location', async () => {
    const res = await get('/a/b/', {}, noListing.port);
    assert.equal(res.status, 403);
    assert.deepEqual(backLink(res.body.toString()), ['/a/', '/a/']);
    const moved = await get('/a/b');
    assert.equal(moved.status, 301);
    assert.match(moved.body.toString(), /<a href="\/a\/b\/">Continue to \/a\/b\/<\/a>/);
  });

  test('the way back is looked up only past authentication', async () => {
    const locked = await startServer({ root, auth: ['u:p'] });
    try {
      const res = await get('/a/b/missing.txt', {}, locked.port);
      assert.equal(res.status, 401);
      assert.deepEqual(backLink(res.body.toString()), ['/', '/']);
      const auth = { Authorization: 'Basic ' + Buffer.from('u:p').toString('base64') };
      const res2 = await get('/a/b/missing.txt', { headers: auth }, locked.port);
      assert.equal(res2.status, 404);
      assert.deepEqual(backLink(res2.body.toString()), ['/a/b/', '/a/b/']);
    } finally {
      await locked.close();
    }
  });

  test('a refused Host (DNS rebinding) learns nothing from the way back', async () => {
    const res = await get('/a/b/missing.txt', { headers: { Host: 'attacker.example' } });
    assert.equal(res.status, 403);
    assert.deepEqual(backLink(res.body.toString()), ['/', '/']);
  });

  test('a folder removed after its 404 was answered is no longer the way back', async () => {
    writeTree(root, { 'vanish/keep.txt': 'k\n' });
    const first = await get('/vanish/missing.txt');
    assert.deepEqual(backLink(first.body.toString()), ['/vanish/', '/vanish/']);
    rmSync(join(root, 'vanish'), { recursive: true, force: true });
    // The cache learns of the removal from inotify; wait for it with a deadline, never a fixed sleep.
    const until = Date.now() + 5000;
    let back;
    do {
      back = backLink((await get('/vanish/missing.txt')).body.toString());
      if (back[0] === '/') break;
      await new Promise((r) => setTimeout(r, 20));
    } while (Date.now() < until);
    assert.deepEqual(back, ['/', '/']);
  });
});

describe('text browsers', () => {
  const run = promisify(execFile);
  const dump = async (program, args, path) => (await run(program, [...args, archives.base + path], { timeout: 15000 })).stdout;

  test('lynx: plain links in document order (breadcrumbs, archive, headers, entries, README)', { skip: needProgram('/usr/bin/lynx', 'lynx') }, async () => {
    const out = await dump('lynx', ['-dump', '-listonly', '-nonumbers'], '/readme/?sort=size&order=desc');
    const links = out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('http')).map((l) => l.replace(archives.base, ''));
    assert.deepEqual(links, [
      '/', '/readme/', '/readme/?download=tar',
      '/readme/?sort=name&order=asc', '/readme/?sort=size&order=asc', '/readme/?sort=mtime&order=desc',
      '/', '/readme/README.md', '/readme/other.txt',
      'https://example.com/', '/readme/docs/a.md',
    ]);
  });

  test('w3m: the table reads in order and a 404 shows its way back', { skip: needProgram('/usr/bin/w3m', 'w3m') }, async () => {
    const page = await dump('w3m', ['-dump', '-cols', '100'], '/sorted/');
    const order = ['aa-dir/', 'zz-dir/', 'File1.txt', 'file2.txt', 'file10.txt'].map((n) => page.indexOf(n));
    assert.ok(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1])), page);
    assert.match(page, /Modified \(UTC\)/);
    const missing = await dump('w3m', ['-dump'], '/a/b/missing.txt');
    assert.match(missing, /404 Not Found\s+Nothing is served at this address\.\s+Back to \/a\/b\//);
  });
});

describe('under --base-path', () => {
  test('breadcrumbs start at the base path; sort links, archive and the way back stay below it', async () => {
    const app = await startServer({ root, archives: true, cgi: false, basePath: '/app' });
    try {
      const res = await get('/app/a/b/', {}, app.port);
      assert.equal(res.status, 200);
      const text = res.body.toString();
      const h1 = text.slice(text.indexOf('<h1>'), text.indexOf('</h1>'));
      const crumbs = [...h1.matchAll(/<a class="bc"[^>]* href="([^"]*)">([^<]*)<\/a>/g)].map((m) => [m[1], m[2]]);
      assert.deepEqual(crumbs, [['/app/', '/app/'], ['/app/a/', 'a/'], ['/app/a/b/', 'b/']]);
      assert.deepEqual(entryNames(text), ['c/']);
      assert.deepEqual(entryNames((await get('/app/sorted/?sort=size&order=desc', {}, app.port)).body.toString()).slice(2), ['file2.txt', 'File1.txt', 'file10.txt']);
      const tar = await get('/app/a/?download=tar', {}, app.port);
      assert.deepEqual(Object.keys(await untar(tar.body)), ['a/', 'a/b/', 'a/b/c/', 'a/b/c/deep.txt']);
      const missing = await get('/app/a/b/missing.txt', {}, app.port);
      assert.equal(missing.status, 404);
      assert.match(missing.body.toString(), /<a href="\/app\/a\/b\/">Back to \/app\/a\/b\/<\/a>/);
      const outside = await get('/elsewhere/x', {}, app.port);
      assert.equal(outside.status, 404);
      assert.match(outside.body.toString(), /<a href="\/app\/">Back to \/app\/<\/a>/);
    } finally {
      await app.close();
    }
  });
});
