// Black-box tests of the library API (issue 3 "Library"): createServer,
// createHandler in a plain node:http server and as connect/express-style
// middleware, and start-up validation of options (ConfigError, never at
// request time).
import { Server, createServer as createHttpServer } from 'node:http';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, createHandler, resolveConfig, ConfigError } from '../dist/index.js';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { PYTHON, deadline, parentOf, pidsMatching, request, rmSync, tempDir, waitFor, writeTree } from './helpers.mjs';

/** inotify watches this process holds (one `inotify wd:` line per watch in its inotify descriptors' fdinfo). */
function inotifyWatches() {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    let target;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== 'anon_inode:inotify') continue;
    n += readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1').split('\n').filter((l) => l.startsWith('inotify wd:')).length;
  }
  return n;
}

let root;
before(() => {
  root = realpathSync(tempDir('scriptserve-lib-'));
  writeTree(root, {
    'hello.txt': 'hello world\n',
    'sub/a.txt': 'a',
    '.env': 'SECRET=1\n',
  });
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Listen on 127.0.0.1:0, run fn(port), always close. */
async function listening(server, fn) {
  await deadline(new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  }), 5000, 'listen');
  try {
    return await fn(server.address().port);
  } finally {
    await deadline(new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }), 5000, 'close');
  }
}

describe('createServer', () => {
  test('returns an http.Server, not yet listening, that serves on port 0', async () => {
    const server = createServer({ root });
    assert.ok(server instanceof Server);
    assert.equal(server.listening, false, 'createServer does not listen by itself');
    await listening(server, async (port) => {
      assert.ok(port > 0);
      const res = await request(port, '/hello.txt');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'hello world\n');
      assert.match(res.headers['content-type'], /^text\/plain; charset=utf-8$/i);
      const missing = await request(port, '/nope.txt');
      assert.equal(missing.status, 404);
    });
  });

  test('accepts the Config returned by resolveConfig, and options reach the responses', async () => {
    const config = resolveConfig({ root, cache: 60, dotfiles: 'allow' });
    assert.equal(config.root, root);
    await listening(createServer(config), async (port) => {
      const res = await request(port, '/.env');
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'max-age=60');
    });
  });

  test('the log option receives one line per request', async () => {
    const lines = [];
    await listening(createServer({ root, log: (l) => lines.push(l), logFormat: 'json' }), async (port) => {
      await request(port, '/hello.txt');
      await request(port, '/nope');
      const deadlineAt = Date.now() + 3000;
      while (lines.length < 2 && Date.now() < deadlineAt) await new Promise((r) => setTimeout(r, 20));
    });
    assert.equal(lines.length, 2, JSON.stringify(lines));
    const recs = lines.map((l) => JSON.parse(l));
    assert.deepEqual(recs.map((r) => [r.method, r.path, r.status]).sort(), [['GET', '/hello.txt', 200], ['GET', '/nope', 404]]);
  });
});

describe('createHandler', () => {
  test('works as the request listener of a plain node:http server', async () => {
    const handler = createHandler({ root });
    assert.equal(typeof handler, 'function');
    await listening(createHttpServer(handler), async (port) => {
      const res = await request(port, '/sub/a.txt');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'a');
      const listing = await request(port, '/sub/');
      assert.equal(listing.status, 200);
      assert.match(listing.body.toString(), /a\.txt/);
      const missing = await request(port, '/nope.txt');
      assert.equal(missing.status, 404, 'without next, a missing file is answered 404 by the handler');
      const post = await request(port, '/hello.txt', { method: 'POST', body: 'x' });
      assert.equal(post.status, 405);
      assert.match(post.headers.allow, /GET/);
    });
  });

  test('close() releases its watches and its fork server; later requests are still answered, uncached', async () => {
    const tree = realpathSync(tempDir('scriptserve-lib-close-'));
    writeTree(tree, { 'a/x.txt': 'x', 'b/y.txt': 'y', 'c/z.txt': 'z', 'cgi-bin/hi.py': { content: '#!/usr/bin/python3\nprint("Content-Type: text/plain\\n\\nhi")\n', mode: 0o755 } });
    const before = inotifyWatches();
    const handler = createHandler({ root: tree, warmPython: true, warmInterpreter: PYTHON, warmPreload: ['json'] });
    try {
      await listening(createHttpServer(handler), async (port) => {
        for (const path of ['/a/x.txt', '/b/y.txt', '/c/z.txt']) assert.equal((await request(port, path)).status, 200);
        assert.equal((await request(port, '/cgi-bin/hi.py', { method: 'POST', body: '' })).body.toString(), 'hi\n');
        assert.ok(inotifyWatches() >= before + 4, 'the root and three directories are watched');
        // This process's own fork server (other test files run theirs at the same time).
        const forkServers = (await pidsMatching('scriptserve_helper.py')).filter((pid) => parentOf(pid) === process.pid);
        assert.equal(forkServers.length, 1, 'one fork server runs');
        handler.close();
        assert.equal(inotifyWatches(), before, 'every watch is released');
        assert.ok(await waitFor(() => forkServers.every((pid) => parentOf(pid) !== process.pid), 5000), 'the fork server is gone');
        // Still served, and nothing is watched again.
        assert.equal((await request(port, '/a/x.txt')).body.toString(), 'x');
        assert.equal((await request(port, '/cgi-bin/hi.py', { method: 'POST', body: '' })).body.toString(), 'hi\n');
        assert.equal(inotifyWatches(), before, 'a request after close() watches nothing');
      });
    } finally {
      handler.close();
      rmSync(tree, { recursive: true, force: true });
    }
  });

  test('works inside a plain server that handles some paths itself', async () => {
    const handler = createHandler({ root });
    const server = createHttpServer((req, res) => {
      if (req.url === '/api') {
        res.setHeader('Content-Type', 'application/json');
        res.end('{"ok":true}');
        return;
      }
      handler(req, res);
    });
    await listening(server, async (port) => {
      assert.equal((await request(port, '/api')).body.toString(), '{"ok":true}');
      assert.equal((await request(port, '/hello.txt')).body.toString(), 'hello world\n');
    });
  });

  describe('as connect/express-style middleware (req, res, next)', () => {
    /** An app that tries the handler first and answers 299 itself when the handler calls next(). */
    function app(handler, calls) {
      return createHttpServer((req, res) => {
        handler(req, res, (err) => {
          calls.push({ method: req.method, url: req.url, err });
          res.statusCode = 299;
          res.setHeader('Content-Type', 'text/plain');
          res.end(`fallthrough ${req.method} ${req.url}`);
        });
      });
    }

    test('a missing file calls next() and the outer app answers', async () => {
      const calls = [];
      await listening(app(createHandler({ root }), calls), async (port) => {
        const res = await request(port, '/nope.txt');
        assert.equal(res.status, 299);
        assert.equal(res.body.toString(), 'fallthrough GET /nope.txt');
        const deep = await request(port, '/no/such/dir/file');
        assert.equal(deep.status, 299);
      });
      assert.equal(calls.length, 2);
      assert.equal(calls[0].err, undefined, 'next() is called without an error');
    });

    test('a missing file remembered by the cache still calls next(), every time, for GET and HEAD', async () => {
      const calls = [];
      await listening(app(createHandler({ root }), calls), async (port) => {
        for (let i = 0; i < 3; i++) {
          for (const method of ['GET', 'HEAD']) {
            const res = await request(port, '/cached-nope.txt', { method });
            assert.equal(res.status, 299, `${method}, round ${i}`);
          }
        }
      });
      assert.equal(calls.length, 6);
    });

    test('POST to a static file calls next() (the app may handle it) and the file is untouched', async () => {
      const calls = [];
      await listening(app(createHandler({ root }), calls), async (port) => {
        const res = await request(port, '/hello.txt', { method: 'POST', body: 'overwrite' });
        assert.equal(res.status, 299);
        assert.equal(res.body.toString(), 'fallthrough POST /hello.txt');
        const after = await request(port, '/hello.txt');
        assert.equal(after.body.toString(), 'hello world\n');
      });
      assert.deepEqual(calls.map((c) => [c.method, c.url]), [['POST', '/hello.txt']]);
    });

    test('files and directories it can serve never reach next()', async () => {
      const calls = [];
      await listening(app(createHandler({ root }), calls), async (port) => {
        const file = await request(port, '/hello.txt');
        assert.equal(file.status, 200);
        assert.equal(file.body.toString(), 'hello world\n');
        const head = await request(port, '/hello.txt', { method: 'HEAD' });
        assert.equal(head.status, 200);
        assert.equal(head.headers['content-length'], '12');
        const dir = await request(port, '/sub/');
        assert.equal(dir.status, 200);
      });
      assert.deepEqual(calls, [], 'next() was not called for requests the handler answered');
    });
  });
});

describe('invalid options throw ConfigError at creation, with a clear message', () => {
  const cases = [
    ['root missing', () => ({ root: join(root, 'does-not-exist') }), /does-not-exist/],
    ['root is a file', () => ({ root: join(root, 'hello.txt') }), /not a directory/],
    ["dotfiles: 'maybe'", () => ({ root, dotfiles: 'maybe' }), /dotfiles.*maybe/],
    ['scriptTimeout: -1', () => ({ root, scriptTimeout: -1 }), /timeout.*-1/i],
    ['scriptTimeout: NaN-ish string', () => ({ root, scriptTimeout: 'soon' }), /timeout/i],
    ['maxScripts: 0', () => ({ root, maxScripts: 0 }), /max scripts|maxScripts/i],
    ['maxScripts: 1.5', () => ({ root, maxScripts: 1.5 }), /max scripts|maxScripts/i],
    ['maxBody: -1', () => ({ root, maxBody: -1 }), /max body|maxBody/i],
    ['cache: -5', () => ({ root, cache: -5 }), /cache/],
    ['route path without a leading slash', () => ({ root, routes: [{ method: 'POST', path: 'hello', command: 'true' }] }), /route.*path/i],
    ['route with a bad method', () => ({ root, routes: [{ method: 'PO ST', path: '/x', command: 'true' }] }), /method/i],
    ['route with an empty command', () => ({ root, routes: [{ method: 'POST', path: '/x', command: '' }] }), /route/i],
    ['route with a command that does not exist', () => ({ root, routes: [{ method: 'POST', path: '/x', command: 'no-such-command-xyz' }] }), /no-such-command-xyz/],
    ['route with an unknown mode', () => ({ root, routes: [{ method: 'POST', path: '/x', command: 'true', mode: 'shell' }] }), /mode/],
    ['interpreter that does not exist', () => ({ root, interpreters: { '.zz': 'no-such-interpreter-xyz' } }), /no-such-interpreter-xyz/],
    ['cgiDirs entry that is not a URL path', () => ({ root, cgiDirs: ['cgi-bin'] }), /cgi-bin/],
    ['configFile missing', () => ({ root, configFile: join(root, 'missing.json') }), /missing\.json/],
    ["logFormat: 'xml'", () => ({ root, logFormat: 'xml' }), /logFormat|log format/i],
    ['log that is not a function', () => ({ root, log: 'stdout' }), /log/i],
    ['an unknown option key (as in the config file)', () => ({ root, colour: 'blue' }), /unknown option "colour"/],
    ['a key only the command line has', () => ({ root, port: 8080 }), /unknown option "port"/],
    ['a misspelt option key', () => ({ root, listings: false }), /unknown option "listings"/],
  ];

  for (const [name, make, pattern] of cases) {
    test(name, () => {
      for (const [fn, label] of [[createServer, 'createServer'], [createHandler, 'createHandler'], [resolveConfig, 'resolveConfig']]) {
        let thrown;
        try {
          fn(make());
        } catch (err) {
          thrown = err;
        }
        assert.ok(thrown, `${label} throws at creation`);
        assert.ok(thrown instanceof ConfigError, `${label} throws a ConfigError, got ${thrown?.constructor?.name}: ${thrown?.message}`);
        assert.ok(thrown instanceof Error);
        assert.match(thrown.message, pattern, `${label}: message names the problem`);
        assert.ok(!thrown.message.includes('\n'), 'a one-line message');
      }
    });
  }

  test('a valid route is accepted, and a handler with valid options answers its requests', async () => {
    const handler = createHandler({ root, routes: [{ method: 'GET', path: '/echo', command: 'echo hi' }] });
    await listening(createHttpServer(handler), async (port) => {
      const res = await request(port, '/echo');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'hi\n');
    });
  });

  test('ConfigError is exported as a class usable with instanceof', () => {
    assert.equal(typeof ConfigError, 'function');
    const e = new ConfigError('x');
    assert.ok(e instanceof Error);
  });
});
