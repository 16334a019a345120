// The static cache must never show a stale file, 404 or listing once a
// change is complete: each test changes the disk and asks again at once.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request, startServer, tempDir, writeTree } from './helpers.mjs';
import { StaticCache } from '../dist/static/cache.js';

describe('static cache invalidation', () => {
  let root;
  let s;
  before(async () => {
    root = tempDir();
    writeTree(root, {
      'page.txt': 'version 000\n',
      'dir/a.txt': 'a\n',
      'dir/sub/deep.txt': 'deep\n',
      'big.bin': Buffer.alloc(512 * 1024, 1),
      'target/real.txt': 'real 0\n',
    });
    symlinkSync(join(root, 'target', 'real.txt'), join(root, 'link.txt'));
    s = await startServer({ root });
  });
  after(async () => {
    await s.close();
    rmSync(root, { recursive: true, force: true });
  });
  const get = (path, headers = {}) => request(s.port, path, { headers });

  test('a file rewritten with same-size content is served new at once, 50 times in a row', async () => {
    for (let i = 1; i <= 50; i++) {
      const content = `version ${String(i).padStart(3, '0')}\n`;
      writeFileSync(join(root, 'page.txt'), content);
      const r = await get('/page.txt');
      assert.equal(r.body.toString(), content, `round ${i}`);
    }
  });

  test('a changed file gets a new ETag, so a revalidation is not answered 304', async () => {
    const first = await get('/page.txt');
    writeFileSync(join(root, 'page.txt'), 'changed, longer content\n');
    const r = await get('/page.txt', { 'If-None-Match': first.headers.etag });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'changed, longer content\n');
    assert.notEqual(r.headers.etag, first.headers.etag);
  });

  test('touch (a new mtime only) changes Last-Modified at once', async () => {
    await get('/page.txt');
    const when = new Date('2020-01-02T03:04:05Z');
    utimesSync(join(root, 'page.txt'), when, when);
    const r = await get('/page.txt');
    assert.equal(r.headers['last-modified'], when.toUTCString());
  });

  test('every path cached for one file (the directory, its index.html, an escaped spelling) follows a change to it', async () => {
    mkdirSync(join(root, 'docs'), { recursive: true });
    const paths = ['/docs/', '/docs/index.html', '/docs/%69ndex.html', '/docs/?q=1'];
    for (let i = 0; i < 10; i++) {
      const content = `<p>index ${i}</p>\n`;
      writeFileSync(join(root, 'docs', 'index.html'), content);
      for (const path of paths) assert.equal((await get(path)).body.toString(), content, `${path}, round ${i}`);
    }
    // Gone: the directory is a listing again and the file paths are 404, at once.
    unlinkSync(join(root, 'docs', 'index.html'));
    assert.match((await get('/docs/')).body.toString(), /<title>Index of \/docs\/<\/title>/);
    assert.equal((await get('/docs/index.html')).status, 404);
    assert.equal((await get('/docs/%69ndex.html')).status, 404);
  });

  test('a cached 404 turns into the file as soon as it is created, and back', async () => {
    for (let i = 0; i < 10; i++) {
      assert.equal((await get('/appears.txt')).status, 404);
      writeFileSync(join(root, 'appears.txt'), `here ${i}\n`);
      const r = await get('/appears.txt');
      assert.equal(r.status, 200, `round ${i}`);
      assert.equal(r.body.toString(), `here ${i}\n`);
      unlinkSync(join(root, 'appears.txt'));
      assert.equal((await get('/appears.txt')).status, 404, `round ${i} after delete`);
    }
  });

  test('a 404 under a directory that does not exist yet becomes a file when the tree is created', async () => {
    assert.equal((await get('/later/x/file.txt')).status, 404);
    mkdirSync(join(root, 'later', 'x'), { recursive: true });
    writeFileSync(join(root, 'later', 'x', 'file.txt'), 'made\n');
    assert.equal((await get('/later/x/file.txt')).body.toString(), 'made\n');
  });

  test('listings show added, removed and renamed entries at once', async () => {
    const names = async () => JSON.parse((await get('/dir/', { Accept: 'application/json' })).body).entries.map((e) => e.name);
    assert.deepEqual(await names(), ['sub', 'a.txt']);
    await get('/dir/'); // the HTML form is cached too
    writeFileSync(join(root, 'dir', 'b.txt'), 'b\n');
    assert.deepEqual(await names(), ['sub', 'a.txt', 'b.txt']);
    assert.match((await get('/dir/')).body.toString(), /b\.txt/);
    renameSync(join(root, 'dir', 'b.txt'), join(root, 'dir', 'c.txt'));
    assert.deepEqual(await names(), ['sub', 'a.txt', 'c.txt']);
    unlinkSync(join(root, 'dir', 'c.txt'));
    assert.deepEqual(await names(), ['sub', 'a.txt']);
    assert.doesNotMatch((await get('/dir/')).body.toString(), /c\.txt/);
  });

  test("a file's size in a listing follows its content", async () => {
    const sizeOf = async () => JSON.parse((await get('/dir/', { Accept: 'application/json' })).body).entries.find((e) => e.name === 'a.txt').size;
    assert.equal(await sizeOf(), 2);
    writeFileSync(join(root, 'dir', 'a.txt'), 'aaaa\n');
    assert.equal(await sizeOf(), 5);
  });

  test("a subdirectory's date in its parent's listing follows changes inside it", async () => {
    const subDate = async () => JSON.parse((await get('/dir/', { Accept: 'application/json' })).body).entries.find((e) => e.name === 'sub').mtime;
    const old = new Date('2019-05-06T07:08:09Z');
    utimesSync(join(root, 'dir', 'sub'), old, old);
    assert.equal(await subDate(), old.toISOString());
    writeFileSync(join(root, 'dir', 'sub', 'new.txt'), 'n\n'); // changes sub's mtime
    assert.notEqual(await subDate(), old.toISOString());
  });

  test('renaming a directory moves its files: old paths 404, new paths serve, a new directory in the old place is seen', async () => {
    assert.equal((await get('/dir/sub/deep.txt')).body.toString(), 'deep\n');
    renameSync(join(root, 'dir', 'sub'), join(root, 'dir', 'moved'));
    assert.equal((await get('/dir/sub/deep.txt')).status, 404);
    assert.equal((await get('/dir/moved/deep.txt')).body.toString(), 'deep\n');
    mkdirSync(join(root, 'dir', 'sub'));
    writeFileSync(join(root, 'dir', 'sub', 'deep.txt'), 'second deep\n');
    assert.equal((await get('/dir/sub/deep.txt')).body.toString(), 'second deep\n');
    writeFileSync(join(root, 'dir', 'sub', 'deep.txt'), 'third deep!\n');
    assert.equal((await get('/dir/sub/deep.txt')).body.toString(), 'third deep!\n');
  });

  test('a directory replaced by a file of the same name, and back: no entry below it survives', async () => {
    mkdirSync(join(root, 'swap'));
    writeFileSync(join(root, 'swap', 'inside.txt'), 'inside\n');
    assert.equal((await get('/swap/inside.txt')).body.toString(), 'inside\n');
    assert.match((await get('/swap/')).body.toString(), /inside\.txt/);
    rmSync(join(root, 'swap'), { recursive: true });
    writeFileSync(join(root, 'swap'), 'now a file\n');
    assert.equal((await get('/swap/inside.txt')).status, 404);
    assert.equal((await get('/swap')).body.toString(), 'now a file\n');
    unlinkSync(join(root, 'swap'));
    mkdirSync(join(root, 'swap'));
    writeFileSync(join(root, 'swap', 'other.txt'), 'other\n');
    assert.equal((await get('/swap')).status, 301);
    assert.equal((await get('/swap/inside.txt')).status, 404);
    assert.doesNotMatch((await get('/swap/')).body.toString(), /inside\.txt/);
    assert.equal((await get('/swap/other.txt')).body.toString(), 'other\n');
  });

  test('a file reached through a symlink is never stale (such paths are not cached)', async () => {
    for (let i = 1; i <= 10; i++) {
      writeFileSync(join(root, 'target', 'real.txt'), `real ${i}\n`);
      assert.equal((await get('/link.txt')).body.toString(), `real ${i}\n`);
    }
  });

  test('a large file (streamed, metadata cached) is served new after a change', async () => {
    assert.equal((await get('/big.bin')).body.length, 512 * 1024);
    writeFileSync(join(root, 'big.bin'), Buffer.alloc(300 * 1024, 2));
    const r = await get('/big.bin');
    assert.equal(r.body.length, 300 * 1024);
    assert.equal(r.body[0], 2);
  });

  test('ranges and HEAD are answered from a cached small file', async () => {
    writeFileSync(join(root, 'page.txt'), '0123456789');
    await get('/page.txt');
    const r = await get('/page.txt', { Range: 'bytes=2-4' });
    assert.equal(r.status, 206);
    assert.equal(r.body.toString(), '234');
    const h = await request(s.port, '/page.txt', { method: 'HEAD' });
    assert.equal(h.headers['content-length'], '10');
    assert.equal(h.body.length, 0);
  });
});

describe('fileCache: false', () => {
  test('serves the same answers without a cache', async () => {
    const root = tempDir();
    writeTree(root, { 'x.txt': 'x\n', 'd/y.txt': 'y\n' });
    const s = await startServer({ root, fileCache: false });
    try {
      assert.equal((await request(s.port, '/x.txt')).body.toString(), 'x\n');
      writeFileSync(join(root, 'x.txt'), 'z\n');
      assert.equal((await request(s.port, '/x.txt')).body.toString(), 'z\n');
      assert.match((await request(s.port, '/d/')).body.toString(), /y\.txt/);
      assert.equal((await request(s.port, '/nope')).status, 404);
    } finally {
      await s.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('script resolution cache', () => {
  let root;
  let s;
  const script = (body) => ({ content: `#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n${body}\\n'\n`, mode: 0o755 });
  before(async () => {
    root = tempDir();
    writeTree(root, { 'cgi-bin/a.sh': script('a1'), 'cgi-bin/sub/b.sh': script('b1'), 'cgi-bin/c.sh': script('c1') });
    s = await startServer({ root, routes: [{ method: 'PUT', path: '/cgi-bin/c.sh', command: ['/bin/echo', 'route'] }] });
  });
  after(async () => {
    await s.close();
    rmSync(root, { recursive: true, force: true });
  });
  const post = (path) => request(s.port, path, { method: 'POST', body: 'x' });

  test('a chmod -x, a delete, a re-create and a new script are seen at once', async () => {
    for (let i = 0; i < 5; i++) {
      writeTree(root, { 'cgi-bin/a.sh': script(`a${i}`) });
      assert.equal((await post('/cgi-bin/a.sh')).body.toString(), `a${i}\n`);
      assert.equal((await post('/cgi-bin/a.sh/extra')).body.toString(), `a${i}\n`);
      writeTree(root, { 'cgi-bin/a.sh': { content: `#!/bin/sh\necho x\n`, mode: 0o644 } });
      assert.equal((await post('/cgi-bin/a.sh')).status, 403, `round ${i}: not executable any more`);
      unlinkSync(join(root, 'cgi-bin', 'a.sh'));
      assert.equal((await post('/cgi-bin/a.sh')).status, 404, `round ${i}: deleted`);
    }
    writeTree(root, { 'cgi-bin/a.sh': script('back') });
    assert.equal((await post('/cgi-bin/a.sh')).body.toString(), 'back\n');
  });

  test('renaming the directory of a cached script is seen at once', async () => {
    assert.equal((await post('/cgi-bin/sub/b.sh')).body.toString(), 'b1\n');
    renameSync(join(root, 'cgi-bin', 'sub'), join(root, 'cgi-bin', 'moved'));
    assert.equal((await post('/cgi-bin/sub/b.sh')).status, 404);
    assert.equal((await post('/cgi-bin/moved/b.sh')).body.toString(), 'b1\n');
  });

  test('a command route owns its path: the script below it runs (cached), the path itself is the route\'s for every method', async () => {
    for (let i = 0; i < 3; i++) {
      assert.equal((await post('/cgi-bin/c.sh/extra')).body.toString(), 'c1\n', `round ${i}: PATH_INFO below the route's path runs the script`);
      const refused = await post('/cgi-bin/c.sh');
      assert.equal(refused.status, 405, `round ${i}: a method the route does not take`);
      assert.equal(refused.headers.allow, 'PUT, OPTIONS');
      const r = await request(s.port, '/cgi-bin/c.sh', { method: 'PUT', body: 'x' });
      assert.equal(r.body.toString(), 'route\n', `round ${i}: the route's method`);
    }
  });
});

describe('paths a command route covers', () => {
  test('HEAD is the GET route\'s (no body), never the file of the same path, and nothing cached answers the GET', async () => {
    const root = tempDir();
    writeTree(root, { 'x.txt': 'file\n' });
    const routes = [
      { method: 'GET', path: '/x.txt', command: ['/bin/echo', 'route x'] },
      { method: 'GET', path: '/y', command: ['/bin/echo', 'route y'] },
    ];
    const s = await startServer({ root, routes });
    try {
      for (const [path, body] of [['/x.txt', 'route x\n'], ['/y', 'route y\n']]) {
        const head = await request(s.port, path, { method: 'HEAD' });
        assert.equal(head.status, 200, `HEAD ${path}: the GET route answers`);
        assert.equal(head.headers['content-length'], String(body.length), `HEAD ${path}: the route's output length, not the file's`);
        assert.equal(head.body.length, 0);
        for (let i = 0; i < 3; i++) {
          const r = await request(s.port, path);
          assert.equal(r.status, 200, `GET ${path}, round ${i}`);
          assert.equal(r.body.toString(), body, `GET ${path}, round ${i}: the route answers`);
        }
      }
    } finally {
      await s.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

test('entries put again for the same key (racing misses) do not inflate the byte count', () => {
  const cache = new StaticCache(tempDir('scriptserve-cache-unit-'));
  const file = (n) => ({ kind: 'file', fsPath: '/x', file: { body: Buffer.alloc(n) } });
  for (let i = 0; i < 10; i++) assert.equal(cache.put('/x', file(1000), cache.generation), true);
  // `bytes` is private in TypeScript only: the count that decides eviction.
  assert.equal(cache.bytes, 1000);
  const listing = { kind: 'listing', fsPath: '/d', html: null, json: null };
  cache.put('/d/', listing, cache.generation);
  for (let i = 0; i < 5; i++) cache.storeListingBody('/d/', listing, false, Buffer.alloc(300), cache.generation);
  assert.equal(cache.bytes, 1300);
  cache.close();
});
