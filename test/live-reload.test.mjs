// Live reload (issue 17), black-box: the injected tag and its representation
// (ETag, no ranges), the reserved endpoints (client script, Server-Sent Events
// stream), the watch over the whole tree (with and without the file cache),
// the Host check, no CORS headers, scripts' output untouched, and the streams
// ending when a graceful stop begins. The browser side: live-reload-browser.test.mjs.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer as createHttpServer } from 'node:http';
import { closeGracefully, createHandler } from '../dist/index.js';
import { injectScriptTag, RELOAD_SCRIPT_TAG } from '../dist/live-reload/inject.js';
import { deadline, request, rmSync, startCli, startServer, tempDir, writeTree } from './helpers.mjs';

const SCRIPT = '/.well-known/scriptserve/live-reload.js';
const STREAM = '/.well-known/scriptserve/live-reload';
const TAG = '<script src="/.well-known/scriptserve/live-reload.js"></script>';
const PAGE = '<!doctype html>\n<html><head><title>t</title><link rel="stylesheet" href="/style.css"></head>\n<body><p>hello</p></body></html>\n';

function site() {
  const root = tempDir('scriptserve-live-');
  writeTree(root, {
    'index.html': PAGE,
    'style.css': 'p { color: red }\n',
    'notes.txt': 'plain text, never injected\n',
    'deep/er/page.html': '<p>no body tags at all</p>',
    'cgi-bin/page.sh': { content: '#!/bin/sh\nprintf "Content-Type: text/html\\n\\n<html><body>from a script</body></html>"\n', mode: 0o755 },
  });
  return root;
}

/**
 * Open the event stream; resolves { res, text(), next(pattern, ms) }: `next`
 * waits (with a deadline) for the stream's text to match `pattern` after
 * what it already matched.
 */
function openStream(port, headers = {}) {
  return deadline(new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: STREAM, headers, agent: false }, (res) => {
      let text = '';
      let seen = 0;
      const waiters = new Set();
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
        for (const w of waiters) w();
      });
      const ended = new Promise((r) => res.once('end', r));
      resolve({
        req,
        res,
        ended,
        text: () => text,
        next: (pattern, ms = 5000) => new Promise((done, fail) => {
          const check = () => {
            const m = pattern.exec(text.slice(seen));
            if (!m) return;
            waiters.delete(check);
            clearTimeout(timer);
            seen += m.index + m[0].length;
            done(m);
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            fail(new Error(`no event ${pattern} within ${ms} ms`));
          }, ms);
          waiters.add(check);
          check();
        }),
      });
    });
    req.on('error', reject);
    req.end();
  }), 5000, 'open the event stream');
}

describe('injectScriptTag (pure)', () => {
  const cases = [
    ['<html><body><p>x</p></body></html>', `<html><body><p>x</p>${TAG}</body></html>`],
    ['<BODY>x</BODY >\n</HTML>', `<BODY>x${TAG}</BODY >\n</HTML>`],
    ['<body>a</body><!-- </body> in a comment, the last one wins --></body>', `<body>a</body><!-- </body> in a comment, the last one wins -->${TAG}</body>`],
    ['<html><p>no body</p></html>', `<html><p>no body</p>${TAG}</html>`],
    ['<p>fragment</p>', `<p>fragment</p>${TAG}`],
    ['', TAG],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => assert.equal(injectScriptTag(Buffer.from(input)).toString(), expected));
  }
  test('UTF-8 around the tag is kept byte for byte', () => {
    const input = Buffer.from('<body>café ☕ 日本</body>');
    const out = injectScriptTag(input);
    assert.equal(out.toString('utf8'), `<body>café ☕ 日本${TAG}</body>`);
    assert.equal(out.length, input.length + RELOAD_SCRIPT_TAG.length);
  });
});

for (const fileCache of [true, false]) {
  describe(`--live-reload${fileCache ? '' : ' with --no-file-cache'}`, () => {
    let root;
    let srv;
    before(async () => {
      root = site();
      srv = await startServer({ root, liveReload: true, fileCache });
    });
    after(async () => {
      await srv?.close();
      rmSync(root, { recursive: true, force: true });
    });

    test('an HTML page gets the script tag before </body>, as its own representation', async () => {
      const res = await request(srv.port, '/');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), PAGE.replace('</body>', TAG + '</body>'));
      assert.equal(res.headers['content-length'], String(res.body.length));
      assert.match(res.headers.etag, /^"[0-9a-f]+-[0-9a-f]+-lr"$/);
      assert.equal(res.headers['accept-ranges'], 'none');
      assert.match(res.headers['content-type'], /^text\/html/);
      // A Range is ignored (the whole page), and the page's own ETag validates.
      const ranged = await request(srv.port, '/', { headers: { Range: 'bytes=0-9' } });
      assert.equal(ranged.status, 200);
      assert.equal(ranged.body.length, res.body.length);
      const again = await request(srv.port, '/', { headers: { 'If-None-Match': res.headers.etag } });
      assert.equal(again.status, 304);
      assert.equal(again.headers.etag, res.headers.etag);
      const head = await request(srv.port, '/', { method: 'HEAD' });
      assert.equal(head.headers['content-length'], res.headers['content-length']);
      assert.equal(head.headers.etag, res.headers.etag);
      assert.equal(head.body.length, 0);
      // The file's own ETag (a precompressed copy or a cache holding the plain file) does not match the page.
      const plainTag = res.headers.etag.replace('-lr"', '"');
      assert.equal((await request(srv.port, '/', { headers: { 'If-None-Match': plainTag } })).status, 200);
      assert.equal((await request(srv.port, '/', { headers: { 'If-Match': plainTag } })).status, 412);
      // A precompressed copy of the file lacks the tag: never served for the page, whatever the client accepts.
      writeFileSync(join(root, 'index.html.gz'), gzipSync(PAGE));
      const gz = await request(srv.port, '/', { headers: { 'Accept-Encoding': 'gzip, br' } });
      assert.equal(gz.headers['content-encoding'], undefined);
      assert.equal(gz.body.toString(), res.body.toString());
      rmSync(join(root, 'index.html.gz'));
      const fragment = await request(srv.port, '/deep/er/page.html');
      assert.equal(fragment.body.toString(), '<p>no body tags at all</p>' + TAG);
    });

    test('other files, and scripts\' HTML output, are not touched', async () => {
      const css = await request(srv.port, '/style.css', { headers: { Range: 'bytes=0-0' } });
      assert.equal(css.status, 206);
      assert.equal(css.body.toString(), 'p');
      const text = await request(srv.port, '/notes.txt');
      assert.equal(text.body.toString(), 'plain text, never injected\n');
      assert.equal(text.headers['accept-ranges'], 'bytes');
      const script = await request(srv.port, '/cgi-bin/page.sh');
      assert.equal(script.status, 200);
      assert.equal(script.body.toString(), '<html><body>from a script</body></html>');
    });

    test('the client script is served with a validator, GET and HEAD only', async () => {
      const res = await request(srv.port, SCRIPT);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.match(res.body.toString(), /new EventSource\(script \? new URL\("live-reload", script\.src\) : "\/\.well-known\/scriptserve\/live-reload"\)/);
      assert.equal((await request(srv.port, SCRIPT, { headers: { 'If-None-Match': res.headers.etag } })).status, 304);
      const post = await request(srv.port, SCRIPT, { method: 'POST', body: 'x' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
      // Other names under the reserved prefix are not endpoints (a dot-directory: 404).
      assert.equal((await request(srv.port, '/.well-known/scriptserve/other')).status, 404);
    });

    test('any change anywhere in the tree, in folders never visited or created later, reloads; a CSS change swaps', async (t) => {
      const stream = await openStream(srv.port, { 'Accept-Encoding': 'gzip, br' });
      try {
        assert.equal(stream.res.statusCode, 200);
        assert.equal(stream.res.headers['content-type'], 'text/event-stream; charset=utf-8');
        assert.equal(stream.res.headers['cache-control'], 'no-cache, no-transform');
        assert.equal(stream.res.headers['content-encoding'], undefined);
        await stream.next(/retry: \d+\n\n/);
        const delays = [];
        const change = async (what, fn, pattern) => {
          const start = performance.now();
          fn();
          await stream.next(pattern);
          delays.push(performance.now() - start);
          t.diagnostic(`${what}: event after ${(performance.now() - start).toFixed(1)} ms`);
        };
        // A folder no request has visited.
        await change('file edited in an unvisited folder', () => writeFileSync(join(root, 'deep', 'er', 'page.html'), '<p>v2</p>'), /event: reload\n/);
        // A folder created after start, then a file in it.
        mkdirSync(join(root, 'new', 'sub'), { recursive: true });
        await stream.next(/event: reload\n/);
        // The new folders are watched once the server has seen them appear: from then on a file written there is an event.
        let watched = false;
        for (let i = 0; i < 20 && !watched; i++) {
          writeFileSync(join(root, 'new', 'sub', 'probe.txt'), String(i));
          watched = await stream.next(/event: reload\n/, 250).then(() => true, () => false);
        }
        assert.ok(watched, 'a folder created after start is not watched');
        await change('file created in a folder made after start', () => writeFileSync(join(root, 'new', 'sub', 'made.html'), 'x'), /event: reload\n/);
        // An editor's save: write a temporary, rename it over the file.
        await change('editor-style save (rename over)', () => {
          writeFileSync(join(root, 'index.tmp'), PAGE.replace('hello', 'saved'));
          renameSync(join(root, 'index.tmp'), join(root, 'index.html'));
        }, /event: reload\n/);
        await change('stylesheet edited', () => writeFileSync(join(root, 'style.css'), 'p { color: blue }\n'), /event: css\ndata: \["\/style\.css"\]\n\n/);
        // Dotfiles are not served (--dotfiles ignore), so their churn (.git) reloads nothing: the
        // next event is the one of the file written after, alone.
        await new Promise((r) => setTimeout(r, 100));
        const before = stream.text().length;
        writeFileSync(join(root, '.hidden'), 'x');
        await new Promise((r) => setTimeout(r, 150));
        writeFileSync(join(root, 'notes.txt'), 'changed\n');
        await stream.next(/event: reload\n/);
        assert.equal(stream.text().slice(before), 'event: reload\ndata: \n\n');
        t.diagnostic(`live-reload event delays (ms): ${delays.map((d) => d.toFixed(1)).join(', ')}`);
      } finally {
        stream.req.destroy();
      }
      // The served page is the new one (the cache saw the rename too).
      assert.match((await request(srv.port, '/')).body.toString(), /saved/);
    });
  });
}

describe('the reserved paths and the access rules', () => {
  let root;
  before(() => {
    root = site();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('off by default: no tag, and the reserved paths are not served', async () => {
    const srv = await startServer({ root });
    try {
      const page = await request(srv.port, '/');
      assert.equal(page.body.toString(), PAGE);
      assert.equal(page.headers['accept-ranges'], 'bytes');
      assert.equal((await request(srv.port, SCRIPT)).status, 404);
      assert.equal((await request(srv.port, STREAM)).status, 404);
    } finally {
      await srv.close();
    }
  });

  test('the normal Host check applies, and no CORS header is sent even with --cors', async () => {
    const srv = await startServer({ root, liveReload: true, cors: true });
    try {
      for (const path of [SCRIPT, STREAM]) {
        const refused = await request(srv.port, path, { headers: { Host: 'evil.example' } });
        assert.equal(refused.status, 403, path);
      }
      const script = await request(srv.port, SCRIPT, { headers: { Origin: 'https://other.example' } });
      assert.equal(script.status, 200);
      assert.equal(script.headers['access-control-allow-origin'], undefined);
      const stream = await openStream(srv.port, { Origin: 'https://other.example' });
      assert.equal(stream.res.statusCode, 200);
      assert.equal(stream.res.headers['access-control-allow-origin'], undefined);
      stream.req.destroy();
      // A positive control: ordinary files do get the header under --cors.
      assert.equal((await request(srv.port, '/notes.txt')).headers['access-control-allow-origin'], '*');
      const post = await request(srv.port, STREAM, { method: 'POST', body: 'x' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
    } finally {
      await srv.close();
    }
  });

  test('the reserved paths sit before authentication (they say only that something changed); pages need credentials', async () => {
    const srv = await startServer({ root, liveReload: true, auth: ['ann:secret'] });
    try {
      assert.equal((await request(srv.port, '/')).status, 401);
      assert.equal((await request(srv.port, SCRIPT)).status, 200);
      const stream = await openStream(srv.port);
      assert.equal(stream.res.statusCode, 200);
      stream.req.destroy();
      const page = await request(srv.port, '/', { headers: { Authorization: 'Basic ' + Buffer.from('ann:secret').toString('base64') } });
      assert.equal(page.status, 200);
      assert.match(page.body.toString(), /live-reload\.js/);
    } finally {
      await srv.close();
    }
  });

  test('under --base-path the tag, the endpoints and the stylesheet paths carry the prefix', async () => {
    const srv = await startServer({ root, liveReload: true, basePath: '/app' });
    try {
      const page = await request(srv.port, '/app/');
      assert.equal(page.status, 200);
      assert.match(page.body.toString(), /<script src="\/app\/\.well-known\/scriptserve\/live-reload\.js"><\/script><\/body>/);
      assert.equal((await request(srv.port, '/app' + SCRIPT)).status, 200);
      assert.equal((await request(srv.port, SCRIPT)).status, 404);
      const stream = await deadline(new Promise((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: srv.port, path: '/app' + STREAM, agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            text += d;
            if (text.includes('retry:')) writeFileSync(join(root, 'style.css'), 'p { color: green }\n');
            if (text.includes('event: css')) resolve({ req, text });
          });
        });
        req.on('error', reject);
        req.end();
      }), 5000, 'css event under the base path');
      stream.req.destroy();
      assert.match(stream.text, /event: css\ndata: \["\/app\/style\.css"\]\n\n/);
    } finally {
      await srv.close();
    }
  });

  test('a graceful stop ends the event streams at once instead of waiting out its grace period', async () => {
    const srv = await startServer({ root, liveReload: true });
    const streams = [await openStream(srv.port), await openStream(srv.port)];
    for (const s of streams) await s.next(/retry: \d+\n\n/);
    // Were the streams held, the close would last its 60 s grace: the deadline fails first.
    await deadline(closeGracefully(srv.server, 60_000), 10_000, 'graceful close with open streams');
    for (const s of streams) await deadline(s.ended, 1000, 'stream end');
  });

  test('as middleware: handler.close() ends the streams, and a stream asked for after that gets 503 (EventSource does not retry it)', async () => {
    const handler = createHandler({ root, liveReload: true });
    const server = createHttpServer(handler);
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    try {
      const stream = await openStream(port);
      await stream.next(/retry: \d+\n\n/);
      handler.close();
      await deadline(stream.ended, 2000, 'stream end');
      assert.equal((await request(port, STREAM)).status, 503);
      // Files are still served after close() (without the cache or live reload).
      assert.equal((await request(port, '/notes.txt')).status, 200);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('the command line: SIGTERM with an open stream stops promptly and says it waits for no request', async () => {
    const cli = await startCli(['-p', '0', '--live-reload', root]);
    try {
      const stream = await openStream(cli.port);
      await stream.next(/retry: \d+\n\n/);
      cli.child.kill('SIGTERM');
      const { code } = await deadline(cli.exited, 5000, 'exit after SIGTERM');
      assert.equal(code, 0);
      await deadline(stream.ended, 1000, 'stream end');
      assert.match(cli.stderr(), /^scriptserve: stopping: waiting up to 10 s for 0 requests and 0 scripts/m);
    } finally {
      await cli.stop();
    }
  });
});
