// Issue 14: what real CGI programs need, black-box with sh scripts (no
// Python, so this file is not in the warm pass): a head without
// Content-Type and without a body (git http-backend's 404 and 403), nosniff
// on script answers, the methods of command routes, and --cgi-ext (scripts
// anywhere under the root, index.php/index.cgi, PATH_INFO), with mapped
// extensions never served as source.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, realpathSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { createServer, resolveConfig } from '../dist/index.js';
import { ROOT_DIR, deadline, rawRequest, parseRawResponse, request, rmSync, runCli, startCli, startServer, tempDir, waitFor, writeTree } from './helpers.mjs';

const sh = (body) => ({ content: `#!/bin/sh\n${body}\n`, mode: 0o755 });

/** GET that resolves at the first body chunk with { status, headers, first }, leaving the response open. */
function firstChunk(port, path) {
  return deadline(new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.once('data', (chunk) => resolve({ status: res.statusCode, headers: res.headers, first: chunk.toString(), res }));
      res.on('error', () => {});
    });
    req.on('error', reject);
    req.end();
  }), 10000, `first chunk of ${path}`);
}

describe('a script head without Content-Type (RFC 3875 6.3.1)', () => {
  let root;
  let srv;
  before(async () => {
    root = realpathSync(tempDir('scriptserve-untyped-'));
    writeTree(root, {
      // What git http-backend prints for a missing repository and for a refused push.
      'cgi-bin/missing.sh': sh("printf 'Status: 404 Not Found\\r\\nExpires: Fri, 01 Jan 1980 00:00:00 GMT\\r\\nPragma: no-cache\\r\\nCache-Control: no-cache, max-age=0, must-revalidate\\r\\n\\r\\n'"),
      'cgi-bin/forbidden.sh': sh("printf 'Status: 403 Forbidden\\r\\nCache-Control: no-cache\\r\\n\\r\\n'"),
      'cgi-bin/bare.sh': sh("printf 'X-Only: header\\n\\n'"),
      'cgi-bin/typeless-body.sh': sh("printf 'Status: 404 Not Found\\n\\nsome body without a type\\n'"),
      // The head first, then a pause, then the end: the answer waits for the end, not a timer.
      'cgi-bin/late-end.sh': sh(`printf 'Status: 404 Not Found\\n\\n'\nwhile [ ! -e "$DOCUMENT_ROOT/go-end" ]; do sleep 0.02; done`),
      'cgi-bin/late-body.sh': sh(`printf 'Status: 200 OK\\n\\n'\nwhile [ ! -e "$DOCUMENT_ROOT/go-body" ]; do sleep 0.02; done\nprintf 'late body\\n'`),
      // A typed body streams at once: the script waits until the test has seen its first line.
      'cgi-bin/typed-stream.sh': sh(`printf 'Content-Type: text/plain\\n\\nfirst\\n'\nwhile [ ! -e "$DOCUMENT_ROOT/go-stream" ]; do sleep 0.02; done\nprintf 'second\\n'`),
      'cgi-bin/head-then-hang.sh': sh("printf 'Status: 404 Not Found\\n\\n'\nexec sleep 30"),
      'cgi-bin/short.sh': sh("printf 'Status: 200 OK\\nContent-Length: 10\\n\\n'"),
      'cgi-bin/status-line.sh': sh("printf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nraw answer\\n'"),
      'cgi-bin/nph-status-line.sh': sh("printf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nraw answer\\n'"),
      'cgi-bin/own-nosniff.sh': sh("printf 'Content-Type: text/plain\\nX-Content-Type-Options: nosniff\\n\\nok\\n'"),
    });
    srv = await startServer({ root });
  });
  after(async () => {
    await srv?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test("git http-backend's 404 and 403 heads are relayed with their headers and an empty body", async () => {
    const missing = await request(srv.port, '/cgi-bin/missing.sh');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['cache-control'], 'no-cache, max-age=0, must-revalidate');
    assert.equal(missing.headers.pragma, 'no-cache');
    assert.equal(missing.headers['content-length'], '0');
    assert.equal(missing.body.length, 0);
    const forbidden = await request(srv.port, '/cgi-bin/forbidden.sh');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.headers['cache-control'], 'no-cache');
    assert.equal(forbidden.body.length, 0);
    const bare = await request(srv.port, '/cgi-bin/bare.sh');
    assert.equal(bare.status, 200);
    assert.equal(bare.headers['x-only'], 'header');
    assert.equal(bare.body.length, 0);
  });

  test('a body without a type is still a 502, and nothing of it is sent', async () => {
    const r = await request(srv.port, '/cgi-bin/typeless-body.sh');
    assert.equal(r.status, 502);
    assert.ok(!r.body.toString().includes('some body without a type'));
    assert.ok(await waitFor(() => srv.logs.some((l) => l.includes('no Content-Type'))), 'the reason is logged');
  });

  test('the decision waits for the end of the output or the first body byte, whenever they come', async () => {
    const ended = request(srv.port, '/cgi-bin/late-end.sh');
    const bodied = request(srv.port, '/cgi-bin/late-body.sh');
    let settled = false;
    void Promise.all([ended, bodied]).then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(settled, false, 'answered before the script ended or wrote a body');
    writeFileSync(join(root, 'go-end'), '');
    writeFileSync(join(root, 'go-body'), '');
    const [e, b] = await Promise.all([ended, bodied]);
    assert.equal(e.status, 404);
    assert.equal(e.body.length, 0);
    assert.equal(b.status, 502);
    assert.ok(!b.body.toString().includes('late body'));
  });

  test('a head without Content-Type whose script then times out is a 504, not an empty 404', async () => {
    const quick = await startServer({ root, scriptTimeout: 1 });
    try {
      const r = await request(quick.port, '/cgi-bin/head-then-hang.sh');
      assert.equal(r.status, 504);
    } finally {
      await quick.close();
    }
  });

  test('a typed body is not held back: its first line arrives while the script still runs', async () => {
    const { status, headers, first, res } = await firstChunk(srv.port, '/cgi-bin/typed-stream.sh');
    assert.equal(status, 200);
    assert.equal(headers['x-content-type-options'], 'nosniff');
    assert.equal(first, 'first\n');
    const rest = [];
    res.on('data', (c) => rest.push(c));
    const done = new Promise((r) => res.once('end', r));
    writeFileSync(join(root, 'go-stream'), '');
    await deadline(done, 10000, 'end of the stream');
    assert.equal(Buffer.concat(rest).toString(), 'second\n');
  });

  test('an empty body shorter than its declared Content-Length cuts the connection', async () => {
    await assert.rejects(request(srv.port, '/cgi-bin/short.sh'), /aborted|socket hang up|ECONNRESET|premature/i);
  });

  test('an HTTP/1.x status line is an NPH answer only from an nph- script; from any other it is a 502', async () => {
    const plain = await request(srv.port, '/cgi-bin/status-line.sh');
    assert.equal(plain.status, 502);
    assert.ok(!plain.body.toString().includes('raw answer'));
    const nph = await rawRequest(srv.port, 'GET /cgi-bin/nph-status-line.sh HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.equal(nph, 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nraw answer\n');
  });

  test("nosniff on every script answer, and a script's own header is not doubled", async () => {
    const own = await rawRequest(srv.port, 'GET /cgi-bin/own-nosniff.sh HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    assert.deepEqual(parseRawResponse(own).headers['x-content-type-options'], ['nosniff']);
    const missing = await request(srv.port, '/cgi-bin/missing.sh');
    assert.equal(missing.headers['x-content-type-options'], 'nosniff');
  });
});

describe('methods on command routes', () => {
  let root;
  let srv;
  const ran = () => (existsSync(join(root, 'ran')) ? 'ran' : 'not run');
  before(async () => {
    root = realpathSync(tempDir('scriptserve-route-methods-'));
    writeTree(root, { 'page.txt': 'the static file of the same path\n', 'api/x.txt': 'static below a prefix route\n' });
    const mark = ['/bin/sh', '-c', 'touch "$DOCUMENT_ROOT/ran"; echo "method=$REQUEST_METHOD"'];
    srv = await startServer({
      root,
      routes: [
        { method: 'GET', path: '/page.txt', command: mark },
        { method: 'POST', path: '/page.txt', command: mark },
        { method: 'POST', path: '/submit', command: mark },
        { method: 'DELETE', path: '/api/*', command: mark },
        { method: 'ANY', path: '/any', command: mark },
      ],
    });
  });
  after(async () => {
    await srv?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('a method no route takes is 405 with the Allow list, never the static file of the same path', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const r = await request(srv.port, '/page.txt', { method });
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD, POST, OPTIONS', method);
      assert.ok(!r.body.toString().includes('the static file'), method);
    }
    const get = await request(srv.port, '/submit');
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST, OPTIONS', 'no HEAD where no GET');
    const below = await request(srv.port, '/api/x.txt');
    assert.equal(below.status, 405, 'a prefix route owns the paths below it');
    assert.equal(below.headers.allow, 'DELETE, OPTIONS');
    assert.equal(ran(), 'not run');
  });

  test('HEAD runs the GET route and sends no body', async () => {
    const r = await request(srv.port, '/page.txt', { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String('method=HEAD\n'.length));
    assert.equal(r.body.length, 0);
    unlinkSync(join(root, 'ran'));
  });

  test('OPTIONS gets the Allow list without running the command', async () => {
    for (const [path, allow] of [['/page.txt', 'GET, HEAD, POST, OPTIONS'], ['/submit', 'POST, OPTIONS'], ['/api/deep/er', 'DELETE, OPTIONS']]) {
      const r = await request(srv.port, path, { method: 'OPTIONS' });
      assert.equal(r.status, 204, path);
      assert.equal(r.headers.allow, allow, path);
      assert.equal(r.body.length, 0);
    }
    assert.equal(ran(), 'not run');
  });

  test('an ANY route receives OPTIONS itself', async () => {
    const r = await request(srv.port, '/any', { method: 'OPTIONS' });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'method=OPTIONS\n');
    assert.equal(ran(), 'ran');
  });

  test('the accepted methods still run', async () => {
    assert.equal((await request(srv.port, '/page.txt')).body.toString(), 'method=GET\n');
    assert.equal((await request(srv.port, '/page.txt', { method: 'POST', body: '' })).body.toString(), 'method=POST\n');
    assert.equal((await request(srv.port, '/api/a/b', { method: 'DELETE' })).body.toString(), 'method=DELETE\n');
  });
});

describe('--cgi-ext: scripts anywhere under the root', () => {
  let root;
  let srv;
  // `.php` here is mapped to sh, so these tests need no PHP (the real php-cgi runs in recipes.test.mjs).
  const php = (body) => `printf 'Content-Type: text/plain\\n\\n'\n${body}\n`;
  const envLine = 'echo "SCRIPT_NAME=$SCRIPT_NAME PATH_INFO=$PATH_INFO"';
  before(async () => {
    root = realpathSync(tempDir('scriptserve-cgi-ext-'));
    writeTree(root, {
      'app/index.php': php(`echo "app index"; ${envLine}`),
      'app/users.php': php(envLine),
      'both/index.html': '<p>html wins</p>\n',
      'both/index.php': php('echo "php index"'),
      'cgi-only/index.cgi': sh("printf 'Content-Type: text/plain\\n\\ncgi index\\n'"),
      'php-and-cgi/index.php': php('echo "php before cgi"'),
      'php-and-cgi/index.cgi': sh("printf 'Content-Type: text/plain\\n\\ncgi\\n'"),
      'tools/run.cgi': sh("printf 'Content-Type: text/plain\\n\\nran %s\\n' \"$SCRIPT_NAME\""),
      'tools/noexec.cgi': { content: "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nSOURCE-OF-NOEXEC\\n'\n", mode: 0o644 },
      'tools/nph-raw.cgi': sh("printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nnph anywhere\\n'"),
      '.hidden/x.php': php('echo "SECRET-FROM-A-DOTDIR"'),
      '.env.php': php('echo "SECRET-DOTFILE"'),
      'secret.inc.pl': '# SOURCE-OF-A-MAPPED-SCRIPT\n',
      'plain.txt': 'plain\n',
      'php-dir.php/inside.txt': 'a directory named like a script is a directory\n',
    });
    symlinkSync(join(root, 'app', 'users.php'), join(root, 'alias.txt'));
    srv = await startServer({ root, interpreters: { '.php': 'sh', '.pl': 'sh' }, cgiExt: ['.php', '.CGI'] });
  });
  after(async () => {
    await srv?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('a .php file runs through its interpreter, a .cgi file directly, with SCRIPT_NAME and PATH_INFO', async () => {
    const users = await request(srv.port, '/app/users.php');
    assert.equal(users.status, 200);
    assert.equal(users.body.toString(), 'SCRIPT_NAME=/app/users.php PATH_INFO=\n');
    const deep = await request(srv.port, '/app/index.php/users/7?x=1');
    assert.equal(deep.body.toString(), 'app index\nSCRIPT_NAME=/app/index.php PATH_INFO=/users/7\n');
    const slash = await request(srv.port, '/app/users.php/');
    assert.equal(slash.body.toString(), 'SCRIPT_NAME=/app/users.php PATH_INFO=/\n');
    const run = await request(srv.port, '/tools/run.cgi');
    assert.equal(run.body.toString(), 'ran /tools/run.cgi\n');
    const nph = await rawRequest(srv.port, 'GET /tools/nph-raw.cgi HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.match(nph, /^HTTP\/1\.0 200 OK\r\n[\s\S]*nph anywhere\n$/);
  });

  test('directory index order: index.html, index.php, index.cgi', async () => {
    assert.equal((await request(srv.port, '/both/')).body.toString(), '<p>html wins</p>\n');
    const app = await request(srv.port, '/app/');
    assert.equal(app.body.toString(), 'app index\nSCRIPT_NAME=/app/index.php PATH_INFO=\n');
    assert.equal((await request(srv.port, '/php-and-cgi/')).body.toString(), 'php before cgi\n');
    assert.equal((await request(srv.port, '/cgi-only/')).body.toString(), 'cgi index\n');
    assert.equal((await request(srv.port, '/app')).status, 301, 'the slash form first, as for any directory');
    for (let i = 0; i < 2; i++) assert.equal((await request(srv.port, '/app/', { method: 'POST', body: '' })).body.toString().split('\n')[0], 'app index', 'POST to a script index runs it');
  });

  test('a script without an execute bit and without an interpreter is 403, never its source', async () => {
    const r = await request(srv.port, '/tools/noexec.cgi');
    assert.equal(r.status, 403);
    assert.ok(!r.body.toString().includes('SOURCE-OF-NOEXEC'));
  });

  test('dotfiles are never run, and not served either', async () => {
    for (const path of ['/.env.php', '/.hidden/x.php']) {
      const r = await request(srv.port, path);
      assert.equal(r.status, 404, path);
      assert.ok(!r.body.toString().includes('SECRET'), path);
    }
  });

  test('a mapped extension that --cgi-ext does not run is 403 naming --cgi-ext, under any name', async () => {
    const r = await request(srv.port, '/secret.inc.pl');
    assert.equal(r.status, 403);
    assert.ok(!r.body.toString().includes('SOURCE-OF-A-MAPPED-SCRIPT'));
    assert.match(r.body.toString(), /--cgi-ext \.pl/);
    const alias = await request(srv.port, '/alias.txt');
    assert.equal(alias.status, 403, 'a symlink with another extension to a script is not its source either');
    assert.ok(!alias.body.toString().includes('PATH_INFO'));
  });

  test('under --base-path, SCRIPT_NAME starts with the prefix, as for a script in cgi-bin', async () => {
    const based = await startServer({ root, interpreters: { '.php': 'sh' }, cgiExt: ['.php', '.cgi'], basePath: '/base/' });
    try {
      assert.equal((await request(based.port, '/base/app/users.php/x')).body.toString(), 'SCRIPT_NAME=/base/app/users.php PATH_INFO=/x\n');
      assert.equal((await request(based.port, '/base/app/')).body.toString(), 'app index\nSCRIPT_NAME=/base/app/index.php PATH_INFO=\n');
      assert.equal((await request(based.port, '/base/tools/run.cgi')).body.toString(), 'ran /base/tools/run.cgi\n');
      assert.equal((await request(based.port, '/app/users.php')).status, 404, 'outside the prefix');
    } finally {
      await based.close();
    }
  });

  test('a directory named like a script is still a directory; ordinary files and 404s are unchanged', async () => {
    assert.equal((await request(srv.port, '/php-dir.php/inside.txt')).status, 200);
    assert.equal((await request(srv.port, '/plain.txt')).body.toString(), 'plain\n');
    assert.equal((await request(srv.port, '/nothing/here.php/x')).status, 404);
    assert.equal((await request(srv.port, '/plain.txt/x')).status, 404);
  });
});

describe('mapped extensions without --cgi-ext', () => {
  test('--interpreter .php=… alone: index.php outside the script directories is 403 naming --cgi-ext, never source', async () => {
    const root = realpathSync(tempDir('scriptserve-mapped-'));
    writeTree(root, { 'index.php': '<?php $password = "SOURCE-SECRET"; ?>\n', 'sub/page.php': 'SOURCE-SECRET\n', 'cgi-bin/ok.php': "printf 'Content-Type: text/plain\\n\\nin cgi-bin\\n'\n" });
    const srv = await startServer({ root, interpreters: { '.php': 'sh' } });
    try {
      for (const path of ['/index.php', '/sub/page.php', '/INDEX.PHP']) {
        const r = await request(srv.port, path);
        if (path === '/INDEX.PHP') {
          assert.ok(r.status === 404 || r.status === 403, path);
        } else {
          assert.equal(r.status, 403, path);
          assert.match(r.body.toString(), /--cgi-ext \.php/, path);
        }
        assert.ok(!r.body.toString().includes('SOURCE-SECRET'), path);
      }
      const listing = await request(srv.port, '/');
      assert.equal(listing.status, 200, 'index.php is no index without --cgi-ext: the listing');
      assert.equal((await request(srv.port, '/cgi-bin/ok.php')).body.toString(), 'in cgi-bin\n');
    } finally {
      await srv.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('--dotfiles allow: a --cgi-ext dotfile is neither run nor served', async () => {
    const root = realpathSync(tempDir('scriptserve-dot-ext-'));
    writeTree(root, { '.env.cgi': sh("printf 'Content-Type: text/plain\\n\\nRAN\\n'"), '.dir/x.cgi': sh("printf 'Content-Type: text/plain\\n\\nRAN\\n'"), '.dir/ok.txt': 'served\n' });
    const srv = await startServer({ root, dotfiles: 'allow', cgiExt: ['.cgi'] });
    try {
      for (const path of ['/.env.cgi', '/.dir/x.cgi']) {
        const r = await request(srv.port, path);
        assert.equal(r.status, 403, path);
        assert.ok(!r.body.toString().includes('RAN') && !r.body.toString().includes('printf'), path);
      }
      assert.equal((await request(srv.port, '/.dir/ok.txt')).body.toString(), 'served\n', 'a positive control: dotfiles are served');
    } finally {
      await srv.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('--no-cgi: a --cgi-ext file is neither run nor served', async () => {
    const root = realpathSync(tempDir('scriptserve-nocgi-ext-'));
    writeTree(root, { 'x.cgi': sh("printf 'Content-Type: text/plain\\n\\nRAN\\n'") });
    const srv = await startServer({ root, cgi: false, cgiExt: ['.cgi'] });
    try {
      const r = await request(srv.port, '/x.cgi');
      assert.equal(r.status, 403);
      assert.ok(!r.body.toString().includes('RAN') && !r.body.toString().includes('printf'));
    } finally {
      await srv.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('--cgi-ext on the command line and in the library', () => {
  test('repeatable and comma-separated; extensions are lower-cased', () => {
    const config = resolveConfig({ root: tempDir(), cgiExt: ['.PHP', '.cgi'], interpreters: { '.PL': 'sh' } });
    assert.deepEqual([...config.cgiExtensions], ['.php', '.cgi']);
    assert.deepEqual([...config.codeExtensions].sort(), ['.cgi', '.php', '.pl'], 'what is never sent as a file');
    assert.deepEqual([...resolveConfig({ root: tempDir() }).codeExtensions], [], 'nothing by default');
  });

  test('a value that is not an extension is refused at start-up', () => {
    for (const bad of ['php', '.', '.p/hp', '*.php']) {
      assert.throws(() => resolveConfig({ root: tempDir(), cgiExt: [bad] }), /--cgi-ext takes extensions/, bad);
    }
    assert.throws(() => createServer({ cgiExt: '.php' }), /list of strings/);
  });

  test('the CLI takes --cgi-ext .php,.cgi --cgi-ext .pl', async () => {
    const root = tempDir();
    writeTree(root, { 'a.cgi': sh("printf 'Content-Type: text/plain\\n\\nA\\n'"), 'b.pl': sh("printf 'Content-Type: text/plain\\n\\nB\\n'") });
    const cli = await startCli(['-p', '0', '-q', '--cgi-ext', '.php,.cgi', '--cgi-ext', '.pl', root]);
    try {
      assert.equal((await request(cli.port, '/a.cgi')).body.toString(), 'A\n');
      assert.equal((await request(cli.port, '/b.pl')).body.toString(), 'B\n');
    } finally {
      await cli.stop();
    }
    const r = await runCli(['-p', '0', '--cgi-ext', '.php,.cgi', '--cgi-ext', 'nope', root]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--cgi-ext takes extensions such as \.php or \.cgi, not "nope"/);
    rmSync(root, { recursive: true, force: true });
  });
});

test('the example site models good practice: cookies HttpOnly and SameSite=Lax, echoed input never markup', async () => {
  const srv = await startServer({ root: join(ROOT_DIR, 'examples', 'site') });
  try {
    const r = await request(srv.port, '/cgi-bin/cookie.sh', { headers: { Cookie: 'x=<script>alert(1)</script>' } });
    assert.equal(r.status, 201);
    assert.equal(r.headers['set-cookie'].length, 2);
    for (const cookie of r.headers['set-cookie']) assert.match(cookie, /; HttpOnly; SameSite=Lax$/, cookie);
    assert.match(r.headers['content-type'], /^text\/plain/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  } finally {
    await srv.close();
  }
});
