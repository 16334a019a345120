// Every way a file is served (a cache hit on the synchronous hot path, a cache
// miss, a server without the cache, a path through a symlink, which is never
// cached) answers conditional and range requests byte for byte alike: they
// all ask the one evaluator (src/conditional.ts). Black-box, over sockets.
import assert from 'node:assert/strict';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request, startServer, tempDir, writeTree } from './helpers.mjs';

/** Status, headers in wire order without Date, and body: what must not differ between paths. */
function answer(r) {
  const headers = [];
  for (let i = 0; i < r.rawHeaders.length; i += 2) {
    const name = r.rawHeaders[i];
    // Date varies by the second; a multipart boundary is random per answer.
    if (name.toLowerCase() === 'date') continue;
    headers.push(`${name}: ${r.rawHeaders[i + 1]}`.replace(/scriptserve-[0-9a-f]+/g, 'BOUNDARY'));
  }
  return { status: r.status, headers, body: r.body.toString('latin1').replace(/scriptserve-[0-9a-f]+/g, 'BOUNDARY') };
}

describe('conditional and range requests: every serving path gives the same answer', () => {
  let root;
  let cached;
  let uncached;
  let etag;
  let lastModified;
  before(async () => {
    root = tempDir();
    writeTree(root, { 'f.txt': '0123456789abcdefghij', 'real/g.txt': '0123456789abcdefghij' });
    symlinkSync(join(root, 'real', 'g.txt'), join(root, 'link.txt'));
    cached = await startServer({ root });
    uncached = await startServer({ root, fileCache: false });
    const first = await request(cached.port, '/f.txt');
    etag = first.headers.etag;
    lastModified = first.headers['last-modified'];
  });
  after(async () => {
    await cached?.close();
    await uncached?.close();
    rmSync(root, { recursive: true, force: true });
  });

  const rows = () => {
    const earlier = new Date(Date.parse(lastModified) - 1000).toUTCString();
    const later = new Date(Date.parse(lastModified) + 1000).toUTCString();
    return [
      ['GET', {}],
      ['HEAD', {}],
      ['GET', { 'If-None-Match': etag }],
      ['HEAD', { 'If-None-Match': etag }],
      ['GET', { 'If-None-Match': `W/${etag}` }],
      ['GET', { 'If-None-Match': '"other", ' + etag }],
      ['GET', { 'If-None-Match': '*' }],
      ['GET', { 'If-None-Match': '"other"' }],
      ['GET', { 'If-None-Match': '', 'If-Modified-Since': lastModified }],
      ['GET', { 'If-None-Match': etag, 'Cache-Control': 'no-cache' }],
      ['GET', { 'If-None-Match': etag, 'Cache-Control': 'max-age=0' }],
      ['GET', { 'If-Modified-Since': lastModified }],
      ['GET', { 'If-Modified-Since': later }],
      ['GET', { 'If-Modified-Since': earlier }],
      ['GET', { 'If-Modified-Since': 'garbage' }],
      ['GET', { 'If-Match': etag }],
      ['GET', { 'If-Match': '"other"' }],
      ['GET', { 'If-Match': `W/${etag}` }],
      ['GET', { 'If-Unmodified-Since': lastModified }],
      ['GET', { 'If-Unmodified-Since': earlier }],
      ['GET', { 'If-Unmodified-Since': 'garbage' }],
      ['GET', { Range: 'bytes=2-4' }],
      ['HEAD', { Range: 'bytes=2-4' }],
      ['GET', { Range: 'bytes=-5' }],
      ['GET', { Range: 'bytes=-500' }],
      ['GET', { Range: 'bytes=15-100' }],
      ['GET', { Range: 'bytes=0-1,5-6' }],
      ['GET', { Range: 'bytes=500-' }],
      ['GET', { Range: 'bytes=x' }],
      ['GET', { Range: 'bytes=2-4', 'If-Range': etag }],
      ['GET', { Range: 'bytes=2-4', 'If-Range': '"other"' }],
      ['GET', { Range: 'bytes=2-4', 'If-Range': lastModified }],
      ['GET', { Range: 'bytes=2-4', 'If-Range': earlier }],
      ['GET', { Range: 'bytes=500-', 'If-Range': '"other"' }],
      ['GET', { Range: 'bytes=2-4', 'If-None-Match': etag }],
      ['GET', { Range: 'bytes=500-', 'If-Match': '"other"' }],
    ];
  };

  test('the cache hit, the miss, no cache and a symlinked path agree on every row', async () => {
    for (const [method, headers] of rows()) {
      const what = `${method} ${JSON.stringify(headers)}`;
      const miss = answer(await request(uncached.port, '/f.txt', { method, headers }));
      const hit = answer(await request(cached.port, '/f.txt', { method, headers }));
      const again = answer(await request(cached.port, '/f.txt', { method, headers }));
      assert.deepEqual(hit, miss, `${what}: cached vs uncached`);
      assert.deepEqual(again, hit, `${what}: the second hit`);
      // The symlink's target has its own mtime, so f.txt's validators may not match it; both servers must still agree.
      const viaLink = await request(cached.port, '/link.txt', { method, headers });
      const viaLinkUncached = await request(uncached.port, '/link.txt', { method, headers });
      assert.deepEqual(answer(viaLink), answer(viaLinkUncached), `${what}: symlinked path, both servers`);
    }
  });

  test('the table exercises every verdict: 200, 206, 304, 412 and 416', async () => {
    const seen = new Set();
    for (const [method, headers] of rows()) seen.add((await request(cached.port, '/f.txt', { method, headers })).status);
    assert.deepEqual([...seen].sort(), [200, 206, 304, 412, 416]);
  });
});
