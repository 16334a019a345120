// Compression (issue 18): gzip and Brotli for files and script output, chosen
// by Accept-Encoding; precompressed copies; the validators, ranges and HEAD of
// each representation; streaming through the encoder. Real clients: curl
// --compressed, node:http, and Chromium for a streamed script.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { chooseCoding, isCompressibleType, varyWithAcceptEncoding, weakenEtag } from '../dist/compress.js';
import { CHROMIUM, deadline, launchChromium, needProgram, request, runCli, startCli, startServer, tempDir, waitFor, writeTree } from './helpers.mjs';
import { h2get, h2session, startAny } from './tls-helpers.mjs';

const TEXT = Array.from({ length: 400 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog\n`).join(''); // ~22 KB
const SMALL = 'x'.repeat(1024); // exactly 1 KiB: not over the threshold
const BIG = TEXT.repeat(15); // ~330 KB: over the cache's body limit, so streamed
const JS = 'export const answer = 42;\n'.repeat(100);
const JS_GZ = zlib.gzipSync(JS, { level: 9 });
const JS_BR = zlib.brotliCompressSync(JS);
const SMALL_JSON = '{"a":1}';

const gunzip = (b) => zlib.gunzipSync(b).toString();
const unbrotli = (b) => zlib.brotliDecompressSync(b).toString();

function siteTree(gateDir) {
  return {
    'text.txt': TEXT,
    'small.txt': SMALL,
    'big.txt': BIG,
    'data.json': JSON.stringify({ rows: TEXT.split('\n') }),
    'image.png': Buffer.alloc(4096, 7),
    'app.js': JS,
    'app.js.gz': JS_GZ,
    'app.js.br': JS_BR,
    'tiny.json': SMALL_JSON,
    'tiny.json.gz': zlib.gzipSync(SMALL_JSON),
    'cgi-bin/text.sh': { mode: 0o755, content: `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nContent-Length: ${TEXT.length}\\r\\nETag: "v1"\\r\\n\\r\\n'\ncat ../text.txt\n` },
    'cgi-bin/coded.sh': { mode: 0o755, content: `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nContent-Encoding: gzip\\r\\n\\r\\n'\ngzip -c ../text.txt\n` },
    'cgi-bin/notransform.sh': { mode: 0o755, content: `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nCache-Control: no-transform\\r\\n\\r\\n'\ncat ../text.txt\n` },
    'cgi-bin/partial.sh': { mode: 0o755, content: `#!/bin/sh\nprintf 'Status: 206 Partial Content\\r\\nContent-Type: text/plain\\r\\nContent-Range: bytes 0-${TEXT.length - 1}/99999\\r\\n\\r\\n'\ncat ../text.txt\n` },
    'cgi-bin/image.sh': { mode: 0o755, content: `#!/bin/sh\nprintf 'Content-Type: image/png\\r\\n\\r\\n'\ncat ../text.txt\n` },
    'cgi-bin/events.sh': { mode: 0o755, content: `#!/bin/sh\nprintf 'Content-Type: text/event-stream\\r\\n\\r\\n'\ncat ../text.txt\n` },
    'cgi-bin/short.sh': { mode: 0o755, content: `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nContent-Length: 6\\r\\n\\r\\nshort\\n'\n` },
    'cgi-bin/echo.sh': { mode: 0o755, content: `#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\r\\nX-Encoding: %s\\r\\n\\r\\n' "$HTTP_CONTENT_ENCODING"\nexec cat\n` },
    // One line, then wait for the client to create go-N (it does once it has decoded line N): only a
    // response flushed through the encoder line by line can finish.
    'cgi-bin/gate.sh': {
      mode: 0o755,
      content: `#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nfor i in 1 2 3; do\n  printf 'line %s\\n' "$i"\n  n=0\n  while [ ! -e "${gateDir}/$QUERY_STRING-go-$i" ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n+1)); done\ndone\nprintf 'done\\n'\n`,
    },
  };
}

/** GET with node:http; resolves { status, headers, body } with the body as sent (still encoded). */
const get = (port, path, headers = {}, method = 'GET') => request(port, path, { method, headers });

describe('compression helpers (tables)', () => {
  test('compressible types', () => {
    const rows = [
      ['text/plain; charset=utf-8', true], ['text/html', true], ['text/css', true], ['TEXT/CSV', true],
      ['application/json', true], ['application/ld+json', true], ['application/manifest+json', true],
      ['text/javascript; charset=utf-8', true], ['application/javascript', true], ['application/xml', true],
      ['application/atom+xml', true], ['image/svg+xml', true], ['application/wasm', true],
      ['text/event-stream', false], ['text/event-stream; charset=utf-8', false], ['image/png', false],
      ['application/octet-stream', false], ['application/gzip', false], ['font/woff2', false], ['video/mp4', false],
      ['application/zip', false], ['', false],
    ];
    for (const [type, expected] of rows) assert.equal(isCompressibleType(type), expected, type);
  });

  test('the coding chosen by Accept-Encoding and its q-values', () => {
    const both = ['br', 'gzip'];
    const rows = [
      [undefined, both, null], ['', both, null], ['gzip', both, 'gzip'], ['br', both, 'br'],
      ['gzip, deflate, br', both, 'br'], ['gzip, br', both, 'br'], ['br;q=0.5, gzip', both, 'gzip'],
      ['gzip;q=1.0, br;q=0.9', both, 'gzip'], ['br;q=0, gzip;q=0', both, null], ['*', both, 'br'],
      ['*;q=0.5, gzip', both, 'gzip'], ['br;q=0, *', both, 'gzip'], ['identity', both, null], ['identity;q=1, gzip;q=0.5', both, null],
      ['deflate', both, null], ['zstd', both, null], ['identity;q=0', both, null], ['BR', both, 'br'],
      ['br', ['gzip'], null], ['gzip, br', ['gzip'], 'gzip'], ['gzip', [], null],
    ];
    for (const [header, offered, expected] of rows) assert.equal(chooseCoding(header, offered), expected, `${header} of ${offered}`);
  });

  test('Vary and weak ETags', () => {
    assert.equal(varyWithAcceptEncoding(undefined), 'Accept-Encoding');
    assert.equal(varyWithAcceptEncoding('Cookie'), 'Cookie, Accept-Encoding');
    assert.equal(varyWithAcceptEncoding('cookie, accept-encoding'), 'cookie, accept-encoding');
    assert.equal(varyWithAcceptEncoding('*'), '*');
    assert.equal(weakenEtag('"a"'), 'W/"a"');
    assert.equal(weakenEtag('W/"a"'), 'W/"a"');
  });
});

describe('compressed files and script output', () => {
  let root;
  let gates;
  let srv;

  before(async () => {
    root = tempDir();
    gates = tempDir();
    writeTree(root, siteTree(gates));
    // Outside the root: a route's command and its files inside the root are hidden from static serving.
    writeFileSync(join(gates, 'report.txt'), TEXT);
    srv = await startServer({
      root,
      routes: [
        { method: 'ANY', path: '/report', command: ['/bin/cat', join(gates, 'report.txt')] },
        { method: 'GET', path: '/tiny', command: ['/bin/echo', 'tiny'] },
      ],
    });
  });

  after(async () => {
    await srv?.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(gates, { recursive: true, force: true });
  });

  test('curl --compressed gets a text file compressed and decodes it to the same bytes', { skip: needProgram('/usr/bin/curl', 'curl') }, async () => {
    const out = await deadline(new Promise((resolve, reject) => {
      execFile('curl', ['-sS', '--compressed', '-D', '-', `${srv.base}/text.txt`], { maxBuffer: 1 << 22 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    }), 10000, 'curl');
    const [head, body] = [out.slice(0, out.indexOf('\r\n\r\n')), out.slice(out.indexOf('\r\n\r\n') + 4)];
    assert.match(head, /^content-encoding: (br|gzip)$/im);
    assert.match(head, /^vary: Accept-Encoding$/im);
    assert.equal(body, TEXT);
  });

  test('gzip and Brotli by Accept-Encoding, with Content-Length and a strong ETag of their own', async () => {
    const plain = await get(srv.port, '/text.txt');
    const gz = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'gzip' });
    const br = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'gzip;q=0.8, br' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString(), TEXT);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzip(gz.body), TEXT);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(unbrotli(br.body), TEXT);
    for (const r of [plain, gz, br]) {
      assert.equal(r.headers.vary, 'Accept-Encoding');
      assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
      assert.equal(Number(r.headers['content-length']), r.body.length);
      assert.match(r.headers.etag, /^"[^"]+"$/, 'strong');
    }
    assert.ok(gz.body.length < TEXT.length / 4);
    assert.equal(new Set([plain, gz, br].map((r) => r.headers.etag)).size, 3, 'one ETag per representation');
    assert.equal(gz.headers['accept-ranges'], undefined, 'no ranges of an encoded representation');
    assert.equal(plain.headers['accept-ranges'], 'bytes');
    const json = await get(srv.port, '/data.json', { 'Accept-Encoding': 'br' });
    assert.equal(json.headers['content-encoding'], 'br');
    assert.equal(JSON.parse(unbrotli(json.body)).rows.length, 401);
  });

  test('a compressed 304 round trip: If-None-Match is matched against the representation asked for', async () => {
    const gz = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'gzip' });
    const again = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'gzip', 'If-None-Match': gz.headers.etag });
    assert.equal(again.status, 304);
    assert.equal(again.headers.etag, gz.headers.etag);
    assert.equal(again.headers.vary, 'Accept-Encoding');
    assert.equal(again.body.length, 0);
    // The same validator from a client that now takes identity (or Brotli) is not a match.
    const identity = await get(srv.port, '/text.txt', { 'If-None-Match': gz.headers.etag });
    assert.equal(identity.status, 200);
    assert.equal(identity.body.toString(), TEXT);
    const br = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'br', 'If-None-Match': gz.headers.etag });
    assert.equal(br.status, 200);
    assert.equal(unbrotli(br.body), TEXT);
    // And the identity validator does not answer for gzip.
    const mixed = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'gzip', 'If-None-Match': identity.headers.etag });
    assert.equal(mixed.status, 200);
    assert.equal(mixed.headers['content-encoding'], 'gzip');
    // A streamed (large) file: its coding's 304 as well.
    const big = await get(srv.port, '/big.txt', { 'Accept-Encoding': 'br' });
    const big304 = await get(srv.port, '/big.txt', { 'Accept-Encoding': 'br', 'If-None-Match': big.headers.etag });
    assert.equal(big304.status, 304);
    // If-Match (412 path) against the coding's tag too.
    const failed = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'gzip', 'If-Match': identity.headers.etag });
    assert.equal(failed.status, 412);
  });

  test('Range on a compressible file is answered from the identity representation', async () => {
    const r = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'gzip, br', Range: 'bytes=5-24' });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.headers['content-range'], `bytes 5-24/${TEXT.length}`);
    assert.equal(r.body.toString(), TEXT.slice(5, 25));
    assert.equal(r.headers.vary, 'Accept-Encoding');
    // If-Range with the gzip validator does not match the identity representation: the whole of it.
    const gz = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'gzip' });
    const whole = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'gzip', Range: 'bytes=5-24', 'If-Range': gz.headers.etag });
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['content-encoding'], undefined);
    assert.equal(whole.body.toString(), TEXT);
    const bigRange = await get(srv.port, '/big.txt', { 'Accept-Encoding': 'gzip', Range: 'bytes=-10' });
    assert.equal(bigRange.status, 206);
    assert.equal(bigRange.body.toString(), BIG.slice(-10));
  });

  test('HEAD sends the headers GET sends, for cached, streamed and precompressed codings', async () => {
    for (const [path, coding] of [['/text.txt', 'gzip'], ['/text.txt', 'br'], ['/big.txt', 'gzip'], ['/app.js', 'br'], ['/cgi-bin/text.sh', 'gzip'], ['/report', 'br']]) {
      const h = { 'Accept-Encoding': coding };
      const g = await get(srv.port, path, h);
      const head = await get(srv.port, path, h, 'HEAD');
      assert.equal(head.body.length, 0);
      // Transfer-Encoding is framing, which a HEAD answer has none of (node sends none; RFC 9110 9.3.2 allows it).
      for (const name of ['content-encoding', 'content-length', 'content-type', 'etag', 'vary', 'last-modified']) {
        assert.equal(head.headers[name], g.headers[name], `${path} ${coding}: ${name}`);
      }
      assert.equal(g.headers['content-encoding'], coding, path);
    }
  });

  test('a file over the cache limit is compressed as it streams: chunked, no Content-Length', async () => {
    const r = await get(srv.port, '/big.txt', { 'Accept-Encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(gunzip(r.body), BIG);
    const br = await get(srv.port, '/big.txt', { 'Accept-Encoding': 'br' });
    assert.equal(unbrotli(br.body), BIG);
  });

  test('1 KiB and smaller, and types that do not compress, are sent as they are, without Vary', async () => {
    for (const path of ['/small.txt', '/image.png']) {
      const r = await get(srv.port, path, { 'Accept-Encoding': 'gzip, br' });
      assert.equal(r.headers['content-encoding'], undefined, path);
      assert.equal(r.headers.vary, undefined, path);
    }
  });

  test('a cached file is compressed once: a repeated compressed GET costs no compression, a change does', async () => {
    writeFileSync(join(root, 'once.txt'), TEXT + 'once\n');
    const calls = { br: 0, gzip: 0 };
    const original = { br: zlib.brotliCompress, gzip: zlib.gzip };
    zlib.brotliCompress = (...args) => (calls.br++, original.br(...args));
    zlib.gzip = (...args) => (calls.gzip++, original.gzip(...args));
    syncBuiltinESMExports();
    try {
      for (let i = 0; i < 3; i++) {
        const r = await get(srv.port, '/once.txt', { 'Accept-Encoding': 'br' });
        assert.equal(unbrotli(r.body), TEXT + 'once\n');
        const g = await get(srv.port, '/once.txt', { 'Accept-Encoding': 'gzip' });
        assert.equal(gunzip(g.body), TEXT + 'once\n');
      }
      assert.deepEqual(calls, { br: 1, gzip: 1 });
      writeFileSync(join(root, 'once.txt'), TEXT + 'twice\n');
      const changed = await waitFor(async () => unbrotli((await get(srv.port, '/once.txt', { 'Accept-Encoding': 'br' })).body) === TEXT + 'twice\n');
      assert.ok(changed, 'the compressed body followed the change');
      assert.equal(calls.br, 2);
    } finally {
      zlib.brotliCompress = original.br;
      zlib.gzip = original.gzip;
      syncBuiltinESMExports();
    }
  });

  test('precompressed copies: their bytes, the original type, their own length; visible as themselves', async () => {
    const gz = await get(srv.port, '/app.js', { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gz.body, JS_GZ);
    assert.equal(gz.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(Number(gz.headers['content-length']), JS_GZ.length);
    const br = await get(srv.port, '/app.js', { 'Accept-Encoding': 'br, gzip' });
    assert.deepEqual(br.body, JS_BR);
    assert.equal(Number(br.headers['content-length']), JS_BR.length);
    const plain = await get(srv.port, '/app.js');
    assert.equal(plain.body.toString(), JS);
    assert.equal(plain.headers.vary, 'Accept-Encoding');
    // A copy of a file under the threshold is still served: the work is done.
    const tiny = await get(srv.port, '/tiny.json', { 'Accept-Encoding': 'gzip, br' });
    assert.equal(tiny.headers['content-encoding'], 'gzip');
    assert.equal(gunzip(tiny.body), SMALL_JSON);
    // The copies are files of their own, in listings and by name.
    const direct = await get(srv.port, '/app.js.gz', { 'Accept-Encoding': 'gzip' });
    assert.equal(direct.headers['content-encoding'], undefined);
    assert.equal(direct.headers['content-type'], 'application/gzip');
    assert.deepEqual(direct.body, JS_GZ);
    const listing = JSON.parse((await get(srv.port, '/', { Accept: 'application/json' })).body.toString());
    const names = listing.entries.map((e) => e.name);
    for (const name of ['app.js', 'app.js.gz', 'app.js.br', 'tiny.json.gz']) assert.ok(names.includes(name), name);
  });

  test('a copy that appears, changes or goes is seen at once (the cache drops the original with it)', async () => {
    writeFileSync(join(root, 'late.css'), 'body { color: red }\n'.repeat(100));
    const before = await get(srv.port, '/late.css', { 'Accept-Encoding': 'gzip' });
    assert.equal(before.headers['content-encoding'], 'gzip');
    const copy = zlib.gzipSync('/* precompressed */');
    writeFileSync(join(root, 'late.css.gz'), copy);
    assert.ok(await waitFor(async () => (await get(srv.port, '/late.css', { 'Accept-Encoding': 'gzip' })).body.equals(copy)), 'copy served');
    rmSync(join(root, 'late.css.gz'));
    assert.ok(await waitFor(async () => gunzip((await get(srv.port, '/late.css', { 'Accept-Encoding': 'gzip' })).body).startsWith('body')), 'copy gone');
  });

  test('a copy that is a symlink is not served', async () => {
    const outside = tempDir();
    try {
      writeFileSync(join(outside, 'secret.gz'), zlib.gzipSync('secret outside the root'));
      writeFileSync(join(root, 'linked.txt'), 'linked\n');
      symlinkSync(join(outside, 'secret.gz'), join(root, 'linked.txt.gz'));
      const r = await get(srv.port, '/linked.txt', { 'Accept-Encoding': 'gzip' });
      assert.equal(r.headers['content-encoding'], undefined);
      assert.equal(r.body.toString(), 'linked\n');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('script output: compressed when accepted, Content-Length dropped, ETag made weak, Vary added', async () => {
    const r = await get(srv.port, '/cgi-bin/text.sh', { 'Accept-Encoding': 'gzip' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['content-length'], undefined);
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    assert.equal(r.headers.etag, 'W/"v1"');
    assert.equal(r.headers.vary, 'Accept-Encoding');
    assert.equal(gunzip(r.body), TEXT);
    const plain = await get(srv.port, '/cgi-bin/text.sh');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.headers['content-length'], String(TEXT.length));
    assert.equal(plain.headers.etag, '"v1"');
    assert.equal(plain.headers.vary, 'Accept-Encoding');
    assert.equal(plain.body.toString(), TEXT);
  });

  test('script output left alone: its own Content-Encoding, no-transform, 206, incompressible types, event streams, 1 KiB or less', async () => {
    const h = { 'Accept-Encoding': 'gzip, br' };
    const coded = await get(srv.port, '/cgi-bin/coded.sh', h);
    assert.equal(coded.headers['content-encoding'], 'gzip');
    assert.equal(gunzip(coded.body), TEXT, 'not encoded twice');
    for (const path of ['/cgi-bin/notransform.sh', '/cgi-bin/partial.sh', '/cgi-bin/image.sh', '/cgi-bin/events.sh', '/cgi-bin/short.sh']) {
      const r = await get(srv.port, path, h);
      assert.equal(r.headers['content-encoding'], undefined, path);
      assert.equal(r.headers.vary, undefined, path);
    }
    assert.equal((await get(srv.port, '/cgi-bin/events.sh', h)).body.toString(), TEXT);
  });

  test('command routes: a whole output gets the encoded length, a small one is sent as it is', async () => {
    const r = await get(srv.port, '/report', { 'Accept-Encoding': 'br' });
    assert.equal(r.headers['content-encoding'], 'br');
    assert.equal(Number(r.headers['content-length']), r.body.length);
    assert.equal(unbrotli(r.body), TEXT);
    const tiny = await get(srv.port, '/tiny', { 'Accept-Encoding': 'br' });
    assert.equal(tiny.headers['content-encoding'], undefined);
    assert.equal(tiny.body.toString(), 'tiny\n');
  });

  test('request bodies reach scripts as sent: never decoded, with HTTP_CONTENT_ENCODING', async () => {
    const body = zlib.gzipSync('compressed request body');
    const r = await request(srv.port, '/cgi-bin/echo.sh', {
      method: 'POST',
      headers: { 'Content-Encoding': 'gzip', 'Content-Type': 'application/octet-stream', 'Content-Length': body.length },
      body,
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-encoding'], 'gzip');
    assert.deepEqual(r.body, body);
  });

  test('a script streaming through gzip reaches the client line by line', async () => {
    for (const coding of ['gzip', 'br']) {
      const lines = await deadline(new Promise((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: srv.port, path: `/cgi-bin/gate.sh?${coding}`, headers: { 'Accept-Encoding': coding }, agent: false }, (res) => {
          assert.equal(res.headers['content-encoding'], coding);
          const decoder = coding === 'gzip' ? zlib.createGunzip() : zlib.createBrotliDecompress();
          let text = '';
          decoder.on('data', (chunk) => {
            text += chunk;
            // Open the gate for the next line only once this one arrived, decoded.
            for (const m of text.matchAll(/line (\d)\n/g)) writeFileSync(join(gates, `${coding}-go-${m[1]}`), '');
          });
          decoder.on('end', () => resolve(text));
          decoder.on('error', reject);
          res.pipe(decoder);
        });
        req.on('error', reject);
        req.end();
      }), 8000, `gated ${coding} stream (a line held back in the encoder never opens its gate)`);
      assert.equal(lines, 'line 1\nline 2\nline 3\ndone\n');
    }
  });
});

describe('over HTTP/2 (h2c)', () => {
  test('files, 304s and a script streaming line by line through gzip', async () => {
    const root = tempDir();
    const gates = tempDir();
    writeTree(root, siteTree(gates));
    const srv = await startAny({ root, h2c: true });
    const session = h2session(`http://127.0.0.1:${srv.port}`);
    try {
      const gz = await h2get(session, '/text.txt', { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(gz.headers.vary, 'Accept-Encoding');
      assert.equal(gunzip(gz.body), TEXT);
      const again = await h2get(session, '/text.txt', { headers: { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag } });
      assert.equal(again.status, 304);
      const big = await h2get(session, '/big.txt', { headers: { 'accept-encoding': 'br' } });
      assert.equal(unbrotli(big.body), BIG);
      const script = await h2get(session, '/cgi-bin/text.sh', { headers: { 'accept-encoding': 'br' } });
      assert.equal(script.headers['content-encoding'], 'br');
      assert.equal(unbrotli(script.body), TEXT);
      const text = await deadline(new Promise((resolve, reject) => {
        const stream = session.request({ ':path': '/cgi-bin/gate.sh?h2', 'accept-encoding': 'gzip' });
        const decoder = zlib.createGunzip();
        let seen = '';
        decoder.on('data', (chunk) => {
          seen += chunk;
          for (const m of seen.matchAll(/line (\d)\n/g)) writeFileSync(join(gates, `h2-go-${m[1]}`), '');
        });
        decoder.on('end', () => resolve(seen));
        decoder.on('error', reject);
        stream.on('error', reject);
        stream.pipe(decoder);
      }), 8000, 'gated stream over HTTP/2');
      assert.equal(text, 'line 1\nline 2\nline 3\ndone\n');
    } finally {
      session.close();
      await srv.close();
      rmSync(root, { recursive: true, force: true });
      rmSync(gates, { recursive: true, force: true });
    }
  });
});

describe('without the file cache', () => {
  test('files are compressed as they stream, and copies are found on every request', async () => {
    const root = tempDir();
    writeTree(root, { 'text.txt': TEXT, 'app.js': JS, 'app.js.gz': JS_GZ });
    const srv = await startServer({ root, fileCache: false });
    try {
      const r = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'gzip' });
      assert.equal(r.headers['content-encoding'], 'gzip');
      assert.equal(r.headers['content-length'], undefined);
      assert.equal(gunzip(r.body), TEXT);
      const again = await get(srv.port, '/text.txt', { 'Accept-Encoding': 'gzip', 'If-None-Match': r.headers.etag });
      assert.equal(again.status, 304);
      const copy = await get(srv.port, '/app.js', { 'Accept-Encoding': 'gzip' });
      assert.deepEqual(copy.body, JS_GZ);
      rmSync(join(root, 'app.js.gz'));
      const gone = await get(srv.port, '/app.js', { 'Accept-Encoding': 'gzip' });
      assert.equal(gunzip(gone.body), JS, 'compressed on the fly once the copy is gone');
    } finally {
      await srv.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('--no-compress', () => {
  test('the CLI flag turns every coding off, and Vary with it', async () => {
    const root = tempDir();
    writeTree(root, { 'text.txt': TEXT, 'app.js': JS, 'app.js.gz': JS_GZ });
    const cli = await startCli(['--port', '0', '-q', '--no-compress', root]);
    try {
      for (const path of ['/text.txt', '/app.js']) {
        const r = await get(cli.port, path, { 'Accept-Encoding': 'gzip, br' });
        assert.equal(r.headers['content-encoding'], undefined, path);
        assert.equal(r.headers.vary, undefined, path);
      }
    } finally {
      await cli.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('--help lists --compress and --no-compress', async () => {
    const { code, stdout } = await runCli(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /--compress\b/);
    assert.match(stdout, /--no-compress\b/);
  });
});

describe('Chromium reads a script streaming through compression', { skip: needProgram(CHROMIUM, 'chromium') }, () => {
  test('each line is shown before the script writes the next', async () => {
    const root = tempDir();
    const gates = tempDir();
    writeTree(root, siteTree(gates));
    const cli = await startCli(['--port', '0', '-q', root]);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const base = `http://127.0.0.1:${cli.port}`;
      await page.goto(base + '/small.txt');
      let encoding;
      page.on('response', (r) => {
        if (r.url().includes('gate.sh')) encoding = r.headers()['content-encoding'];
      });
      await page.exposeFunction('opened', (line) => writeFileSync(join(gates, `chromium-go-${line}`), ''));
      const text = await deadline(page.evaluate(async () => {
        const res = await fetch('/cgi-bin/gate.sh?chromium');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let text = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return text;
          text += value;
          for (const m of text.matchAll(/line (\d)\n/g)) await window.opened(m[1]);
        }
      }), 10000, 'Chromium stream');
      assert.equal(text, 'line 1\nline 2\nline 3\ndone\n');
      assert.match(encoding ?? '', /^(gzip|br)$/, 'the stream was compressed');
    } finally {
      await browser.close();
      await cli.stop();
      rmSync(root, { recursive: true, force: true });
      rmSync(gates, { recursive: true, force: true });
    }
  });
});

describe('listings and 404.html are compressed like files', () => {
  let root;
  let srv;
  const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`dir/entry-with-a-longish-name-${i}.txt`, 'x']));
  before(async () => {
    root = tempDir('scriptserve-compress-pages-');
    writeTree(root, { ...many, 'one/a.txt': 'a', '404.html': `<!doctype html><title>missing</title><p>${'Not here. '.repeat(300)}</p>` });
    srv = await startServer({ root });
  });
  after(async () => {
    await srv?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('a listing over 1 KiB: gzip and Brotli by Accept-Encoding, HEAD with the same length, identity without the header', async () => {
    const plain = await get(srv.port, '/dir/');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.ok(plain.body.length > 1024);
    assert.match(plain.headers.vary, /Accept-Encoding/);
    for (const [coding, decode] of [['gzip', gunzip], ['br', unbrotli]]) {
      const res = await get(srv.port, '/dir/', { 'Accept-Encoding': coding });
      assert.equal(res.headers['content-encoding'], coding);
      assert.equal(Number(res.headers['content-length']), res.body.length);
      assert.equal(decode(res.body), plain.body.toString());
      const head = await get(srv.port, '/dir/', { 'Accept-Encoding': coding }, 'HEAD');
      assert.equal(head.headers['content-length'], res.headers['content-length']);
      assert.equal(head.headers['content-encoding'], coding);
    }
    const json = await get(srv.port, '/dir/', { 'Accept-Encoding': 'gzip', Accept: 'application/json' });
    assert.equal(json.headers['content-encoding'], 'gzip');
    assert.equal(JSON.parse(gunzip(json.body)).entries.length, 60);
  });

  test('a listing of 1 KiB or less is sent as it is, still with Vary', async () => {
    const res = await get(srv.port, '/one/', { 'Accept-Encoding': 'gzip, br', Accept: 'application/json' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.match(res.headers.vary, /Accept-Encoding/);
  });

  test('404.html: compressed, status 404, decoded bytes are the page', async () => {
    const res = await get(srv.port, '/missing', { 'Accept-Encoding': 'br', Accept: 'text/html' });
    assert.equal(res.status, 404);
    assert.equal(res.headers['content-encoding'], 'br');
    assert.match(unbrotli(res.body), /Not here\./);
    const plain = await get(srv.port, '/missing', { Accept: 'text/html' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(unbrotli(res.body), plain.body.toString());
  });

  test('--no-compress: listings as they are, no Vary: Accept-Encoding', async () => {
    const off = await startServer({ root, compress: false });
    try {
      const res = await get(off.port, '/dir/', { 'Accept-Encoding': 'gzip' });
      assert.equal(res.headers['content-encoding'], undefined);
      assert.doesNotMatch(res.headers.vary ?? '', /Accept-Encoding/);
    } finally {
      await off.close();
    }
  });
});
