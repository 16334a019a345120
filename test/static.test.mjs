// Static files over real sockets: GET/HEAD, types, validators and 304/412,
// ranges (206/416, multipart), methods (405/501/400), keep-alive, HTTP/1.0,
// error pages. Black-box: only the built library, node:http and raw sockets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, utimesSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { deadline, parseRawResponse, rawRequest, request, rmSync, startServer, tempDir, writeTree } from './helpers.mjs';

const HELLO = 'Hello, world!\n';
/** 10 000 bytes whose value depends on the offset, so any misplaced byte shows. */
const RANGE_DATA = Buffer.from(Array.from({ length: 10000 }, (_, i) => (i * 7 + (i >> 8)) % 256));
const SIZE = RANGE_DATA.length;
const BIG = randomBytes(5 * 1024 * 1024);
/** A fixed, old modification time: Last-Modified is then a strong validator (RFC 9110 8.8.2.2). */
const OLD_MTIME = new Date('2020-01-02T03:04:05Z');
const OLD_LAST_MODIFIED = 'Thu, 02 Jan 2020 03:04:05 GMT';
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

const TYPED_FILES = {
  'page.html': ['<!DOCTYPE html><p>hi</p>', 'text/html; charset=utf-8'],
  'notes.txt': ['plain text', 'text/plain; charset=utf-8'],
  'style.css': ['p{color:red}', 'text/css; charset=utf-8'],
  'app.js': ['console.log(1)', 'text/javascript; charset=utf-8'],
  'data.json': ['{"a":1}', 'application/json; charset=utf-8'],
  'readme.md': ['# hi', 'text/markdown; charset=utf-8'],
  'table.csv': ['a,b\n1,2\n', 'text/csv; charset=utf-8'],
  'pic.png': [Buffer.from('89504e470d0a1a0a', 'hex'), 'image/png'],
  'icon.svg': ['<svg xmlns="http://www.w3.org/2000/svg"/>', 'image/svg+xml'],
  'doc.pdf': ['%PDF-1.4', 'application/pdf'],
  'mod.wasm': [Buffer.from('0061736d01000000', 'hex'), 'application/wasm'],
  'UPPER.TXT': ['upper-case extension', 'text/plain; charset=utf-8'],
  'blob.zzzunknown': ['?', 'application/octet-stream'],
  'noextension': ['no extension', 'application/octet-stream'],
};

let base;
let root;
let srv;
let cached;

before(async () => {
  base = tempDir('scriptserve-static-');
  root = join(base, 'www');
  const tree = {
    'hello.txt': HELLO,
    'empty.txt': '',
    'range.bin': RANGE_DATA,
    'big.bin': BIG,
    'dated.txt': 'dated content\n',
    'keep.txt': 'must not change\n',
    'sub/inner.txt': 'inner\n',
  };
  for (const [name, [content]] of Object.entries(TYPED_FILES)) tree[name] = content;
  writeTree(base, Object.fromEntries(Object.entries(tree).map(([k, v]) => [`www/${k}`, v])));
  utimesSync(join(root, 'dated.txt'), OLD_MTIME, OLD_MTIME);
  utimesSync(join(root, 'range.bin'), OLD_MTIME, OLD_MTIME);
  srv = await startServer({ root, cgi: false });
  cached = await startServer({ root, cgi: false, cache: 60 });
});

after(async () => {
  await srv?.close();
  await cached?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

const get = (path, opts) => request(srv.port, path, opts);

/** Send raw bytes with `Connection: close` semantics and parse the first answer. */
async function raw(text) {
  return parseRawResponse(await rawRequest(srv.port, text));
}

/**
 * Send raw bytes and collect until the server closes the connection.
 * Resolves { text, closedByServer }; rejects when the server keeps it open past `ms`.
 */
function exchangeUntilClose(port, data, ms = 5000) {
  return deadline(
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('end', () => {
        socket.destroy();
        resolve({ text: Buffer.concat(chunks).toString('latin1'), closedByServer: true });
      });
      socket.on('error', reject);
      socket.write(data);
    }),
    ms,
    'server closing the connection',
  );
}

/**
 * Parse consecutive HTTP/1.1 responses from one byte stream; `methods[i]` tells
 * whether response i may have a body (HEAD never does).
 */
function parseResponses(text, methods) {
  const out = [];
  let pos = 0;
  for (const method of methods) {
    const end = text.indexOf('\r\n\r\n', pos);
    assert.ok(end >= 0, `response ${out.length + 1} of ${methods.length} is missing`);
    const head = parseRawResponse(text.slice(pos, end + 4));
    pos = end + 4;
    let body = '';
    const noBody = method === 'HEAD' || head.status === 304 || head.status === 204;
    if (!noBody) {
      if (head.headers['transfer-encoding']?.[0] === 'chunked') {
        for (;;) {
          const nl = text.indexOf('\r\n', pos);
          const len = parseInt(text.slice(pos, nl), 16);
          pos = nl + 2;
          if (len === 0) {
            pos = text.indexOf('\r\n', pos) + 2;
            break;
          }
          body += text.slice(pos, pos + len);
          pos += len + 2;
        }
      } else {
        const len = Number(head.headers['content-length']?.[0] ?? 0);
        body = text.slice(pos, pos + len);
        pos += len;
      }
    }
    out.push({ ...head, body });
  }
  return { responses: out, rest: text.slice(pos) };
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

function headerList(value) {
  return String(value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Every path a test might print: error pages must show none of them. */
function assertNoLeak(text) {
  for (const p of new Set([base, root, realpathSync(base), realpathSync(root)])) {
    assert.ok(!text.includes(p), `error page leaks the filesystem path ${p}`);
  }
  assert.ok(!/\n\s+at\s/.test(text), 'error page has a stack trace');
  assert.ok(!text.includes('node_modules') && !text.includes('Error:'), 'error page has internals');
}

describe('GET and HEAD', () => {
  test('GET serves the exact bytes with Content-Length, Content-Type and nosniff', async () => {
    const res = await get('/hello.txt');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), HELLO);
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(HELLO)));
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['accept-ranges'], 'bytes');
    assert.equal(res.headers['transfer-encoding'], undefined);
  });

  test('HEAD sends the same headers as GET and no body', async () => {
    for (const path of ['/hello.txt', '/range.bin', '/page.html', '/empty.txt']) {
      const g = await get(path);
      const h = await get(path, { method: 'HEAD' });
      assert.equal(h.status, 200, path);
      assert.equal(h.body.length, 0, path);
      const strip = (hs) => {
        const { date, connection, 'keep-alive': _ka, ...rest } = hs;
        assert.match(date, IMF_FIXDATE);
        return rest;
      };
      assert.deepEqual(strip(h.headers), strip(g.headers), path);
      assert.equal(h.headers['content-length'], String(g.body.length), path);
    }
  });

  test('HEAD of a range has the 206 headers of GET and no body', async () => {
    const g = await get('/range.bin', { headers: { Range: 'bytes=10-19' } });
    const h = await get('/range.bin', { method: 'HEAD', headers: { Range: 'bytes=10-19' } });
    assert.equal(g.status, 206);
    assert.equal(h.status, 206);
    assert.equal(h.headers['content-range'], 'bytes 10-19/10000');
    assert.equal(h.headers['content-length'], '10');
    assert.equal(h.body.length, 0);
  });

  test('no body bytes follow a HEAD answer on the wire', async () => {
    for (const path of ['/hello.txt', '/big.bin', '/nope.txt', '/sub', '/sub/']) {
      const text = await rawRequest(srv.port, `HEAD ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      const res = parseRawResponse(text);
      assert.ok([200, 301, 404].includes(res.status), `${path}: ${res.statusLine}`);
      assert.ok(Number(res.headers['content-length']?.[0]) > 0, `${path} has a Content-Length`);
      assert.equal(res.body, '', `${path}: HEAD answer carried body bytes`);
    }
    const big = parseRawResponse(await rawRequest(srv.port, 'HEAD /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
    assert.equal(big.headers['content-length'][0], String(BIG.length));
  });

  test('an empty file is 200 with Content-Length 0', async () => {
    const res = await get('/empty.txt');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], '0');
    assert.equal(res.body.length, 0);
    const wire = parseRawResponse(await rawRequest(srv.port, 'GET /empty.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
    assert.equal(wire.status, 200);
    assert.equal(wire.body, '');
    assert.equal(wire.headers['transfer-encoding'], undefined);
  });

  test('a 5 MiB file streams byte-exact', async () => {
    const res = await get('/big.bin', { timeout: 20000 });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(BIG.length));
    assert.equal(res.body.length, BIG.length);
    assert.equal(sha256(res.body), sha256(BIG));
  });
});

describe('Content-Type and common headers', () => {
  test('Content-Type comes from the MIME library, charset=utf-8 on text types', async () => {
    for (const [name, [content, type]] of Object.entries(TYPED_FILES)) {
      const res = await get('/' + name);
      assert.equal(res.status, 200, name);
      assert.equal(res.headers['content-type'], type, name);
      assert.deepEqual(res.body, Buffer.from(content), name);
    }
  });

  test('X-Content-Type-Options: nosniff on files, listings and errors', async () => {
    for (const path of ['/hello.txt', '/pic.png', '/sub/', '/nope.txt']) {
      const res = await get(path);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
    }
  });

  test('Date on every response: 200, 206, 301, 304, 404, 405, 412, 416', async () => {
    const etag = (await get('/hello.txt')).headers.etag;
    const cases = [
      ['/hello.txt', {}, 200],
      ['/range.bin', { headers: { Range: 'bytes=0-1' } }, 206],
      ['/sub', {}, 301],
      ['/hello.txt', { headers: { 'If-None-Match': etag } }, 304],
      ['/nope.txt', {}, 404],
      ['/hello.txt', { method: 'POST', body: 'x' }, 405],
      ['/hello.txt', { headers: { 'If-Match': '"other"' } }, 412],
      ['/range.bin', { headers: { Range: 'bytes=99999-' } }, 416],
    ];
    for (const [path, opts, status] of cases) {
      const res = await get(path, opts);
      assert.equal(res.status, status, `${path} ${JSON.stringify(opts)}`);
      assert.match(res.headers.date ?? '', IMF_FIXDATE, `Date on ${status}`);
      assert.ok(Math.abs(Date.parse(res.headers.date) - Date.now()) < 60_000, `Date is now on ${status}`);
    }
  });

  test('Date also on answers made outside the handler (raw 400 and 501)', async () => {
    for (const text of ['GET / HTTP/1.1\r\n\r\n', 'FOO / HTTP/1.1\r\nHost: localhost\r\n\r\n']) {
      const res = await raw(text);
      assert.ok([400, 501].includes(res.status), res.statusLine);
      assert.match(res.headers.date?.[0] ?? '', IMF_FIXDATE);
    }
  });

  test('Cache-Control: no-cache by default, on 200 and 304', async () => {
    const ok = await get('/hello.txt');
    assert.equal(ok.headers['cache-control'], 'no-cache');
    const notModified = await get('/hello.txt', { headers: { 'If-None-Match': ok.headers.etag } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers['cache-control'], 'no-cache');
  });

  test('cache: 60 gives Cache-Control: max-age=60', async () => {
    const res = await request(cached.port, '/hello.txt');
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), HELLO);
    assert.equal(res.headers['cache-control'], 'max-age=60');
  });
});

describe('validators and conditional requests', () => {
  async function validators(path) {
    const res = await get(path);
    assert.equal(res.status, 200);
    return { etag: res.headers.etag, lastModified: res.headers['last-modified'] };
  }

  test('ETag and Last-Modified are sent and stable', async () => {
    const a = await validators('/dated.txt');
    const b = await validators('/dated.txt');
    assert.match(a.etag, /^(W\/)?"[^"]+"$/);
    assert.equal(a.etag, b.etag);
    assert.equal(a.lastModified, OLD_LAST_MODIFIED);
    const other = await validators('/hello.txt');
    assert.notEqual(other.etag, a.etag, 'different files have different ETags');
  });

  test('If-None-Match with the current ETag → 304 with validators and no body', async () => {
    const { etag } = await validators('/hello.txt');
    const res = await get('/hello.txt', { headers: { 'If-None-Match': etag } });
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
    assert.equal(res.headers.etag, etag);
    assert.ok(res.headers['last-modified']);
  });

  test('If-None-Match: *, a list, and the weak twin W/"…" → 304', async () => {
    const { etag } = await validators('/hello.txt');
    const opaque = etag.replace(/^W\//, '');
    for (const inm of ['*', `"nope", ${etag}, "other"`, `"a","b",${etag}`, `W/${opaque}`, `"x", W/${opaque}`]) {
      const res = await get('/hello.txt', { headers: { 'If-None-Match': inm } });
      assert.equal(res.status, 304, `If-None-Match: ${inm}`);
      assert.equal(res.body.length, 0);
    }
  });

  test('a 304 carries exactly the 200\'s validators and cache headers, and no Content-*', async () => {
    const ok = await get('/hello.txt');
    const res = await get('/hello.txt', { headers: { 'If-None-Match': ok.headers.etag } });
    assert.equal(res.status, 304);
    for (const name of ['etag', 'last-modified', 'cache-control', 'x-content-type-options']) assert.equal(res.headers[name], ok.headers[name], name);
    for (const name of ['content-type', 'content-length', 'accept-ranges', 'content-range']) assert.equal(res.headers[name], undefined, name);
  });

  test('If-None-Match matching with Cache-Control: no-cache in the request → 200 with the body (as `fresh` decides)', async () => {
    const { etag } = await validators('/hello.txt');
    const res = await get('/hello.txt', { headers: { 'If-None-Match': etag, 'Cache-Control': 'no-cache' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), HELLO);
  });

  test('an empty If-None-Match counts as absent: If-Modified-Since decides', async () => {
    const later = new Date(OLD_MTIME.getTime() + 86400_000).toUTCString();
    const res = await get('/dated.txt', { headers: { 'If-None-Match': '', 'If-Modified-Since': later } });
    assert.equal(res.status, 304);
    const plain = await get('/dated.txt', { headers: { 'If-None-Match': '' } });
    assert.equal(plain.status, 200);
  });

  test('If-None-Match not matching → 200 with the body', async () => {
    for (const inm of ['"nope"', 'W/"nope"', '"a", "b"']) {
      const res = await get('/hello.txt', { headers: { 'If-None-Match': inm } });
      assert.equal(res.status, 200, inm);
      assert.equal(res.body.toString(), HELLO);
    }
  });

  test('If-Modified-Since equal or later → 304; earlier or invalid → 200', async () => {
    const later = new Date(OLD_MTIME.getTime() + 86400_000).toUTCString();
    const earlier = new Date(OLD_MTIME.getTime() - 86400_000).toUTCString();
    for (const ims of [OLD_LAST_MODIFIED, later]) {
      const res = await get('/dated.txt', { headers: { 'If-Modified-Since': ims } });
      assert.equal(res.status, 304, `IMS ${ims}`);
      assert.equal(res.body.length, 0);
    }
    for (const ims of [earlier, 'not a date', '']) {
      const res = await get('/dated.txt', { headers: { 'If-Modified-Since': ims } });
      assert.equal(res.status, 200, `IMS ${JSON.stringify(ims)}`);
      assert.equal(res.body.toString(), 'dated content\n');
    }
  });

  test('If-None-Match not matching wins over an unmodified If-Modified-Since → 200 (RFC 9110 13.1.3)', async () => {
    const res = await get('/dated.txt', { headers: { 'If-None-Match': '"stale"', 'If-Modified-Since': OLD_LAST_MODIFIED } });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'dated content\n');
  });

  test('If-None-Match matching with an old If-Modified-Since → 304 (IMS ignored)', async () => {
    const { etag } = await validators('/dated.txt');
    const earlier = new Date(OLD_MTIME.getTime() - 86400_000).toUTCString();
    const res = await get('/dated.txt', { headers: { 'If-None-Match': etag, 'If-Modified-Since': earlier } });
    assert.equal(res.status, 304);
  });

  test('HEAD with a matching validator → 304', async () => {
    const { etag } = await validators('/hello.txt');
    const res = await get('/hello.txt', { method: 'HEAD', headers: { 'If-None-Match': etag } });
    assert.equal(res.status, 304);
    assert.equal(res.body.length, 0);
    const byDate = await get('/dated.txt', { method: 'HEAD', headers: { 'If-Modified-Since': OLD_LAST_MODIFIED } });
    assert.equal(byDate.status, 304);
  });

  test('If-Match mismatch → 412; matching or * → 200', async () => {
    const { etag } = await validators('/hello.txt');
    const bad = await get('/hello.txt', { headers: { 'If-Match': '"not-it"' } });
    assert.equal(bad.status, 412);
    assert.ok(!bad.body.toString().includes(HELLO), '412 carries no file content');
    for (const im of [etag, '*', `"x", ${etag}`]) {
      const ok = await get('/hello.txt', { headers: { 'If-Match': im } });
      assert.equal(ok.status, 200, `If-Match: ${im}`);
      assert.equal(ok.body.toString(), HELLO);
    }
  });

  test('If-Unmodified-Since in the past → 412; at or after Last-Modified → 200', async () => {
    const past = new Date(OLD_MTIME.getTime() - 86400_000).toUTCString();
    const bad = await get('/dated.txt', { headers: { 'If-Unmodified-Since': past } });
    assert.equal(bad.status, 412);
    for (const ius of [OLD_LAST_MODIFIED, new Date().toUTCString()]) {
      const ok = await get('/dated.txt', { headers: { 'If-Unmodified-Since': ius } });
      assert.equal(ok.status, 200, ius);
      assert.equal(ok.body.toString(), 'dated content\n');
    }
  });
});

describe('ranges', () => {
  const slice = (s, e) => RANGE_DATA.subarray(s, e + 1);

  test('Accept-Ranges: bytes on a full answer', async () => {
    const res = await get('/range.bin');
    assert.equal(res.status, 200);
    assert.equal(res.headers['accept-ranges'], 'bytes');
    assert.deepEqual(res.body, RANGE_DATA);
  });

  test('single ranges → 206 with the exact bytes and Content-Range', async () => {
    const cases = [
      ['bytes=0-99', 0, 99],
      ['bytes=100-199', 100, 199],
      ['bytes=-100', SIZE - 100, SIZE - 1],
      ['bytes=1000-', 1000, SIZE - 1],
      ['bytes=9990-20000', 9990, SIZE - 1],
      ['bytes=0-0', 0, 0],
      ['bytes=9999-9999', 9999, 9999],
    ];
    for (const [range, start, end] of cases) {
      const res = await get('/range.bin', { headers: { Range: range } });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${SIZE}`, range);
      assert.equal(res.headers['content-length'], String(end - start + 1), range);
      assert.deepEqual(res.body, slice(start, end), range);
      assert.equal(res.headers['content-type'], 'application/octet-stream');
    }
  });

  test('a suffix longer than the file selects the whole file, not 416 (RFC 9110 14.1.3)', async () => {
    const res = await get('/range.bin', { headers: { Range: 'bytes=-20000' } });
    assert.notEqual(res.status, 416, 'a non-zero suffix-length is always satisfiable (RFC 9110 14.1.1)');
    if (res.status === 206) assert.equal(res.headers['content-range'], `bytes 0-${SIZE - 1}/${SIZE}`);
    else assert.equal(res.status, 200);
    assert.deepEqual(res.body, RANGE_DATA);
  });

  test('unsatisfiable range → 416 with Content-Range: bytes */SIZE', async () => {
    for (const range of ['bytes=10000-', 'bytes=20000-30000', 'bytes=10000-10005']) {
      const res = await get('/range.bin', { headers: { Range: range } });
      assert.equal(res.status, 416, range);
      assert.equal(res.headers['content-range'], `bytes */${SIZE}`, range);
      assert.ok(!res.body.includes(RANGE_DATA.subarray(0, 16)), 'no file bytes in a 416');
    }
  });

  test('a Range the server cannot parse or an unknown unit is ignored: 200 with the whole file', async () => {
    for (const range of ['items=0-5', 'bytes=abc', 'bytes 0-5']) {
      const res = await get('/range.bin', { headers: { Range: range } });
      assert.equal(res.status, 200, range);
      assert.equal(res.headers['content-range'], undefined, range);
      assert.deepEqual(res.body, RANGE_DATA, range);
    }
  });

  test('an invalid range (last-pos < first-pos) is ignored or rejected, never partial (RFC 9110 14.2)', async () => {
    const res = await get('/range.bin', { headers: { Range: 'bytes=5-2' } });
    if (res.status === 200) assert.deepEqual(res.body, RANGE_DATA);
    else {
      assert.equal(res.status, 416);
      assert.equal(res.headers['content-range'], `bytes */${SIZE}`);
    }
  });

  function parseMultipart(body, contentType) {
    const m = /^multipart\/byteranges;\s*boundary=("?)([^";]+)\1$/.exec(contentType);
    assert.ok(m, `multipart Content-Type: ${contentType}`);
    const boundary = m[2];
    const text = body.toString('latin1');
    const parts = [];
    let pos = 0;
    for (;;) {
      const delim = text.indexOf(`--${boundary}`, pos);
      assert.ok(delim >= 0, 'boundary delimiter');
      pos = delim + boundary.length + 2;
      if (text.startsWith('--', pos)) break;
      assert.equal(text.slice(pos, pos + 2), '\r\n');
      const headEnd = text.indexOf('\r\n\r\n', pos);
      const headers = {};
      for (const line of text.slice(pos + 2, headEnd).split('\r\n')) {
        const i = line.indexOf(':');
        headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      const cr = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers['content-range'] ?? '');
      assert.ok(cr, `part Content-Range: ${headers['content-range']}`);
      const [start, end, total] = cr.slice(1).map(Number);
      const dataStart = headEnd + 4;
      const data = body.subarray(dataStart, dataStart + (end - start + 1));
      parts.push({ headers, start, end, total, data });
      pos = dataStart + data.length;
      assert.equal(text.slice(pos, pos + 2), '\r\n', 'CRLF before the next delimiter');
    }
    return parts;
  }

  test('multiple ranges → 206 multipart/byteranges, every part byte-exact', async () => {
    const res = await get('/range.bin', { headers: { Range: 'bytes=0-9, 100-199, -5' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers['content-length'], String(res.body.length));
    const parts = parseMultipart(res.body, res.headers['content-type']);
    assert.deepEqual(
      parts.map((p) => [p.start, p.end, p.total]),
      [
        [0, 9, SIZE],
        [100, 199, SIZE],
        [SIZE - 5, SIZE - 1, SIZE],
      ],
    );
    for (const p of parts) {
      assert.deepEqual(p.data, slice(p.start, p.end));
      assert.equal(p.headers['content-type'], 'application/octet-stream');
    }
  });

  test('hundreds of overlapping ranges do not amplify the response', async () => {
    const headers = [
      'bytes=' + Array(400).fill('0-9999').join(','),
      'bytes=' + Array.from({ length: 400 }, (_, i) => `${i}-${i + 5000}`).join(','),
      'bytes=' + Array(400).fill('0-').join(','),
      'bytes=' + Array.from({ length: 400 }, (_, i) => `${i * 20}-${i * 20 + 9}`).join(','),
    ];
    for (const range of headers) {
      const res = await get('/range.bin', { headers: { Range: range } });
      assert.ok([200, 206].includes(res.status), `status ${res.status}`);
      assert.ok(res.body.length <= SIZE + 2048, `response of ${res.body.length} bytes for a ${SIZE}-byte file`);
      if (res.status === 200) assert.deepEqual(res.body, RANGE_DATA);
      if (res.status === 206 && !res.headers['content-type'].startsWith('multipart/')) {
        const [, s, e] = /^bytes (\d+)-(\d+)\/10000$/.exec(res.headers['content-range']).map(Number);
        assert.deepEqual(res.body, slice(s, e));
      }
    }
  });

  test('If-Range with the current ETag → 206', async () => {
    const { etag } = (await get('/range.bin')).headers;
    const res = await get('/range.bin', { headers: { Range: 'bytes=5-14', 'If-Range': etag } });
    assert.equal(res.status, 206);
    assert.deepEqual(res.body, slice(5, 14));
  });

  test('If-Range with an old or weak ETag → 200 with the whole file', async () => {
    const { etag } = (await get('/range.bin')).headers;
    const opaque = etag.replace(/^W\//, '');
    for (const ifRange of ['"old-etag"', `W/${opaque}`]) {
      const res = await get('/range.bin', { headers: { Range: 'bytes=5-14', 'If-Range': ifRange } });
      assert.equal(res.status, 200, `If-Range: ${ifRange}`);
      assert.equal(res.headers['content-range'], undefined);
      assert.deepEqual(res.body, RANGE_DATA);
    }
  });

  test('If-Range with the Last-Modified date → 206; another date → 200', async () => {
    const res = await get('/range.bin', { headers: { Range: 'bytes=5-14', 'If-Range': OLD_LAST_MODIFIED } });
    assert.equal(res.status, 206);
    assert.deepEqual(res.body, slice(5, 14));
    const other = new Date(OLD_MTIME.getTime() - 86400_000).toUTCString();
    const full = await get('/range.bin', { headers: { Range: 'bytes=5-14', 'If-Range': other } });
    assert.equal(full.status, 200);
    assert.deepEqual(full.body, RANGE_DATA);
  });
});

describe('methods', () => {
  test('POST/PUT/DELETE/PATCH on a file and a directory → 405 with Allow, nothing changes', async () => {
    for (const path of ['/keep.txt', '/sub/']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        // An explicit Content-Length: node:http sends a DELETE body unframed otherwise.
        const body = 'overwritten!';
        const res = await get(path, { method, body, headers: { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) } });
        assert.equal(res.status, 405, `${method} ${path}`);
        const allow = headerList(res.headers.allow);
        assert.ok(allow.includes('GET') && allow.includes('HEAD'), `Allow: ${res.headers.allow}`);
        for (const m of ['POST', 'PUT', 'DELETE', 'PATCH']) assert.ok(!allow.includes(m), `Allow lists ${m}`);
      }
    }
    assert.equal(readFileSync(join(root, 'keep.txt'), 'utf8'), 'must not change\n');
    assert.equal(readFileSync(join(root, 'sub/inner.txt'), 'utf8'), 'inner\n');
    assert.equal((await get('/keep.txt')).body.toString(), 'must not change\n');
  });

  test('a write method on a directory without its slash is refused or sent to the slash form', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await get('/sub', { method, body: 'x', headers: { 'Content-Length': 1 } });
      if (res.status === 405) assert.ok(headerList(res.headers.allow).includes('GET'));
      else {
        assert.equal(res.status, 308, `${method} /sub: ${res.status}`);
        assert.equal(res.headers.location, '/sub/');
      }
    }
    assert.equal(readFileSync(join(root, 'sub/inner.txt'), 'utf8'), 'inner\n');
    assert.equal(existsSync(join(root, 'sub', 'x')), false);
  });

  test('PUT of a new name does not create it', async () => {
    for (const path of ['/created.txt', '/sub/created.txt']) {
      const res = await get(path, { method: 'PUT', body: 'new', headers: { 'Content-Length': 3 } });
      assert.ok([404, 405].includes(res.status), `PUT ${path}: ${res.status}`);
      assert.equal(existsSync(join(root, path)), false, `${path} was created`);
    }
  });

  test('OPTIONS answers with Allow', async () => {
    for (const path of ['/hello.txt', '/sub/']) {
      const res = await get(path, { method: 'OPTIONS' });
      assert.ok(res.status === 200 || res.status === 204, `OPTIONS ${path}: ${res.status}`);
      const allow = headerList(res.headers.allow);
      assert.ok(allow.includes('GET') && allow.includes('HEAD') && allow.includes('OPTIONS'), `Allow: ${res.headers.allow}`);
    }
    const star = await raw('OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.ok(star.status === 200 || star.status === 204, star.statusLine);
    assert.ok(headerList(star.headers.allow?.[0]).includes('GET'));
  });

  test('unknown methods (FOO, lowercase get, BREW) → 501', async () => {
    for (const method of ['FOO', 'get', 'BREW']) {
      const res = await raw(`${method} /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      assert.equal(res.status, 501, `${method}: ${res.statusLine}`);
      assert.match(res.statusLine, /^HTTP\/1\.1 501 /);
      assert.ok(!res.body.includes(HELLO), `${method} must not serve the file`);
      assert.ok(res.body.includes('501'));
    }
  });

  test('HTTP/1.1 without Host → 400', async () => {
    const res = await raw('GET /hello.txt HTTP/1.1\r\n\r\n');
    assert.equal(res.status, 400, res.statusLine);
    assert.ok(!res.body.includes(HELLO));
  });

  test('two Host headers → 400', async () => {
    const res = await raw('GET /hello.txt HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 400, res.statusLine);
    assert.ok(!res.body.includes(HELLO));
  });
});

describe('connections', () => {
  const SEQUENCE = [
    ['GET', '/hello.txt', 200, HELLO],
    ['HEAD', '/hello.txt', 200, ''],
    ['GET', '/nope.txt', 404, null],
    ['GET', '/sub', 301, null],
    ['GET', '/sub/inner.txt', 200, 'inner\n'],
    ['HEAD', '/nope.txt', 404, ''],
    ['GET', '/notes.txt', 200, 'plain text'],
    ['HEAD', '/sub', 301, ''],
    ['GET', '/data.json', 200, '{"a":1}'],
    ['GET', '/sub/', 200, null],
  ];
  const twenty = [...SEQUENCE, ...SEQUENCE];

  function checkAnswers(responses) {
    assert.equal(responses.length, twenty.length);
    responses.forEach((res, i) => {
      const [method, path, status, body] = twenty[i];
      assert.equal(res.status, status, `#${i} ${method} ${path}`);
      if (body !== null) assert.equal(res.body, body, `#${i} ${method} ${path}`);
      if (status === 301) assert.equal(res.headers.location[0], '/sub/');
    });
  }

  test('keep-alive: 20 pipelined GET/HEAD/404/301 requests answered in order', async () => {
    const reqs = twenty.map(([m, p], i) => `${m} ${p} HTTP/1.1\r\nHost: localhost\r\n${i === twenty.length - 1 ? 'Connection: close\r\n' : ''}\r\n`);
    const { text } = await exchangeUntilClose(srv.port, reqs.join(''), 10000);
    const { responses, rest } = parseResponses(text, twenty.map(([m]) => m));
    checkAnswers(responses);
    assert.equal(rest, '', 'nothing after the last answer');
  });

  test('keep-alive: 20 requests one after another on one connection', async () => {
    const socket = connect(srv.port, '127.0.0.1');
    let buffered = '';
    let wake = () => {};
    socket.on('data', (c) => {
      buffered += c.toString('latin1');
      wake();
    });
    let closed = false;
    socket.on('close', () => {
      closed = true;
      wake();
    });
    socket.on('error', () => {});
    try {
      await deadline(new Promise((r) => socket.once('connect', r)), 5000, 'connect');
      const responses = [];
      for (const [method, path] of twenty) {
        socket.write(`${method} ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
        const res = await deadline(
          (async () => {
            for (;;) {
              try {
                const { responses: [one], rest } = parseResponses(buffered, [method]);
                const len = Number(one.headers['content-length']?.[0] ?? 0);
                if (method === 'HEAD' || one.body.length === len) {
                  buffered = rest;
                  return one;
                }
              } catch {
                /* incomplete */
              }
              assert.ok(!closed, `connection closed before the answer to ${method} ${path}`);
              await new Promise((r) => (wake = r));
            }
          })(),
          5000,
          `${method} ${path} on a kept-alive connection`,
        );
        responses.push(res);
      }
      checkAnswers(responses);
      assert.equal(closed, false, 'connection still open');
    } finally {
      socket.destroy();
    }
  });

  test('a bad request pipelined after a good one: the good one is answered first (RFC 9112 9.3.2)', async () => {
    const text = await rawRequest(srv.port, 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\nFOO /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const first = parseRawResponse(text);
    assert.equal(first.status, 200, `first answer on the wire is ${first.statusLine}`);
    assert.ok(first.body.startsWith(HELLO));
    const second = first.body.slice(HELLO.length);
    if (second !== '') assert.equal(parseRawResponse(second).status, 501);
  });

  test('HTTP/1.0: HTTP/1.x answer, no chunking, connection closed', async () => {
    for (const [path, status, body] of [
      ['/hello.txt', 200, HELLO],
      ['/sub/', 200, null],
      ['/nope.txt', 404, null],
    ]) {
      const { text, closedByServer } = await exchangeUntilClose(srv.port, `GET ${path} HTTP/1.0\r\n\r\n`);
      assert.ok(closedByServer);
      const res = parseRawResponse(text);
      assert.match(res.statusLine, /^HTTP\/1\.[01] \d{3} /);
      assert.equal(res.status, status, path);
      assert.equal(res.headers['transfer-encoding'], undefined, `${path}: chunked to an HTTP/1.0 client`);
      assert.equal(res.headers['content-length']?.[0], String(res.body.length), path);
      if (body !== null) assert.equal(res.body, body);
    }
  });
});

/** Nothing allowed but the page's one style, by its hash (issue 17 styles error pages). */
const ERROR_CSP = /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]{43}='$/;

describe('error pages', () => {
  async function errorCases() {
    return [
      ['/nope-zq9.txt', await get('/nope-zq9.txt'), 404],
      ['/%zz-zq9', await get('/%zz-zq9'), 400],
      ['POST /hello.txt', await get('/hello.txt', { method: 'POST', body: 'x' }), 405],
      ['If-Match', await get('/hello.txt', { headers: { 'If-Match': '"zq9"' } }), 412],
      ['Range', await get('/range.bin', { headers: { Range: 'bytes=99999-' } }), 416],
    ];
  }

  test('errors are short HTML pages with status and reason and a strict CSP', async () => {
    for (const [what, res, status] of await errorCases()) {
      assert.equal(res.status, status, what);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8', what);
      assert.match(res.headers['content-security-policy'], ERROR_CSP, what);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', what);
      const body = res.body.toString();
      assert.ok(body.length < 1024, `${what}: ${body.length} bytes`);
      assert.ok(body.includes(`${status} ${STATUS_CODES[status]}`), `${what}: ${body}`);
      assert.ok(!body.includes('zq9'), `${what}: the page echoes the request`);
      assertNoLeak(body);
      assertNoLeak(JSON.stringify(res.headers));
    }
  });

  for (const [what, text, status] of [
    ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['two Host headers', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n', 400],
    ['unknown method FOO', 'FOO / HTTP/1.1\r\nHost: localhost\r\n\r\n', 501],
    ['lowercase get', 'get / HTTP/1.1\r\nHost: localhost\r\n\r\n', 501],
  ]) {
    test(`error page for a request the parser refuses: ${what} → ${status}`, async () => {
      const res = await raw(text);
      assert.equal(res.status, status);
      assert.match(res.headers['content-security-policy']?.[0], ERROR_CSP);
      assert.equal(res.headers['content-type']?.[0], 'text/html; charset=utf-8');
      assert.equal(res.headers['x-content-type-options']?.[0], 'nosniff');
      assert.ok(res.body.includes(`${status} ${STATUS_CODES[status]}`), JSON.stringify(res.body));
      assert.equal(res.headers['content-length']?.[0], String(Buffer.byteLength(res.body, 'latin1')));
      assertNoLeak(res.body);
    });
  }

  test('HEAD of an error has the page headers and no body', async () => {
    const g = await get('/nope.txt');
    const h = await get('/nope.txt', { method: 'HEAD' });
    assert.equal(h.status, 404);
    assert.equal(h.body.length, 0);
    assert.equal(h.headers['content-length'], g.headers['content-length']);
    assert.match(h.headers['content-security-policy'], ERROR_CSP);
  });
});
