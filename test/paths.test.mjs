// Path safety over raw sockets: traversal in every spelling, decoding exactly
// once, canonical redirects without open redirects, symlinks, dotfiles, FIFOs.
// fetch/new URL would normalize `..` and `%2e%2e` client-side, so every attack
// here is sent byte for byte with a raw socket.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, parseRawResponse, rawRequest, request, rmSync, startServer, tempDir, writeTree } from './helpers.mjs';

const MARKER = 'SECRET-MARKER-7f3a9c1e';
const HELLO = 'hello from inside the root\n';

let base;
let root;
let srv;
let follow;
let dotAllow;

before(async () => {
  base = tempDir('scriptserve-paths-');
  root = join(base, 'www');
  writeTree(base, {
    secret: `${MARKER} plain secret\n`,
    'secret.txt': `${MARKER} secret.txt\n`,
    'www-private/x': `${MARKER} www-private\n`,
    'outside-dir/inner.txt': `${MARKER} outside dir\n`,
    'www/hello.txt': HELLO,
    'www/caf\u00e9.txt': 'cafe with accent\n',
    'www/a+b.txt': 'plus file\n',
    'www/a b.txt': 'space file\n',
    'www/100%25.txt': 'percent-two-five file\n',
    'www/foo..bar.txt': 'double dot inside a name\n',
    'www/foo..': 'name ending in two dots\n',
    'www/sub dir/file.txt': 'in sub dir\n',
    'www/evil.example/index.html': '<p>local dir named evil.example</p>\n',
    'www/sub/visible.txt': 'visible\n',
    'www/sub/.hidden': 'hidden in sub\n',
    'www/.env': 'TOKEN=dotenv\n',
    'www/.git/config': '[core]\n',
    'www/a/b/deep.txt': 'deep\n',
  });
  symlinkSync('hello.txt', join(root, 'link-in.txt'));
  symlinkSync('sub', join(root, 'link-sub'));
  symlinkSync(join(base, 'secret'), join(root, 'link-out.txt'));
  symlinkSync('../outside-dir', join(root, 'link-out-dir'));
  symlinkSync('nowhere', join(root, 'dangling'));
  symlinkSync('../www-private/x', join(root, 'link-private'));
  symlinkSync('../www-private', join(root, 'link-private-dir'));
  execFileSync('mkfifo', [join(root, 'pipe.fifo')]);
  srv = await startServer({ root });
  follow = await startServer({ root, followSymlinks: true });
  dotAllow = await startServer({ root, dotfiles: 'allow' });
});

after(async () => {
  await srv?.close();
  await follow?.close();
  await dotAllow?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

/** GET a raw request target byte for byte; resolves the parsed answer. */
async function rawGet(target, port = srv.port, method = 'GET') {
  const text = await rawRequest(port, `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  const res = parseRawResponse(text);
  return { ...res, raw: text };
}

function assertRefused(res, what) {
  assert.ok([400, 403, 404].includes(res.status), `${what}: ${res.statusLine}`);
  assert.ok(!res.raw.includes(MARKER), `${what}: the secret leaked`);
}

describe('traversal', () => {
  const ATTACKS = [
    '/../secret',
    '/../secret.txt',
    '/../../secret',
    '/%2e%2e/secret',
    '/%2E%2E/secret',
    '/.%2e/secret',
    '/%2e./secret',
    '/%2E%2E%2Fsecret',
    '/%2e%2e%2fsecret',
    '/..%2fsecret',
    '/..%2Fsecret',
    '/sub/../../secret',
    '/sub/%2e%2e/%2e%2e/secret',
    '/a/%2e%2e/%2e%2e/secret',
    '/a/b/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret',
    '/%252e%252e/secret',
    '/..\\secret',
    '/%5c..%5csecret',
    '/%5C..%5Csecret',
    '/sub\\..\\..\\secret',
    '/%c0%ae%c0%ae/secret',
    '/%c0%ae%c0%ae%c0%afsecret',
    '/%e0%80%ae%e0%80%ae/secret',
    '/..;/secret',
    '/../www-private/x',
    '/%2e%2e/www-private/x',
    '/..%2fwww-private%2fx',
    '/link-out.txt',
    '/link-out-dir/inner.txt',
    '/link-out-dir/',
  ];

  for (const target of ATTACKS) {
    test(`GET ${target} never leaves the root`, async () => {
      assertRefused(await rawGet(target), target);
    });
  }

  test('absolute-form targets with .. never leave the root', async () => {
    for (const target of [
      'http://127.0.0.1/../secret',
      'http://127.0.0.1/%2e%2e/secret',
      'http://127.0.0.1/..%2fsecret',
      'http://127.0.0.1/../www-private/x',
    ]) {
      assertRefused(await rawGet(target), target);
    }
  });

  test('%252e%252e is decoded once only: a literal "%2e%2e" name, so 404', async () => {
    const res = await rawGet('/%252e%252e/secret');
    assert.equal(res.status, 404);
  });

  test('NUL and malformed escapes → 400', async () => {
    for (const target of ['/hello%00.txt', '/hello.txt%00', '/%zz', '/hello%', '/%e', '/hello%2', '/%c3', '/%ff%fe']) {
      const res = await rawGet(target);
      assert.equal(res.status, 400, `${target}: ${res.statusLine}`);
      assert.ok(!res.raw.includes(HELLO), `${target} served hello.txt`);
    }
  });

  test('the server still serves after the attacks (positive control)', async () => {
    const res = await rawGet('/hello.txt');
    assert.equal(res.status, 200);
    assert.equal(res.body, HELLO);
  });
});

describe('decoding', () => {
  const utf8 = (res) => Buffer.from(res.body, 'latin1').toString('utf8');

  test('percent-escapes decode once, in either case: /caf%C3%A9.txt and /caf%c3%a9.txt', async () => {
    for (const target of ['/caf%C3%A9.txt', '/caf%c3%a9.txt', '/%63af%C3%A9.txt']) {
      const res = await rawGet(target);
      assert.equal(res.status, 200, target);
      assert.equal(utf8(res), 'cafe with accent\n', target);
    }
  });

  test('+ stays a plus; %20 is a space', async () => {
    const plus = await rawGet('/a+b.txt');
    assert.equal(plus.status, 200);
    assert.equal(plus.body, 'plus file\n');
    const encodedPlus = await rawGet('/a%2Bb.txt');
    assert.equal(encodedPlus.body, 'plus file\n');
    const space = await rawGet('/a%20b.txt');
    assert.equal(space.status, 200);
    assert.equal(space.body, 'space file\n');
  });

  test('/100%2525.txt serves the file named 100%25.txt', async () => {
    const res = await rawGet('/100%2525.txt');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'percent-two-five file\n');
    const once = await rawGet('/100%25.txt');
    assert.equal(once.status, 404, '/100%25.txt names "100%.txt", which does not exist');
  });

  test('the query string never changes the file', async () => {
    for (const target of ['/hello.txt?../../secret', '/hello.txt?%2e%2e/secret', '/hello.txt?/../../secret.txt', '/hello.txt?file=/etc/passwd']) {
      const res = await rawGet(target);
      assert.equal(res.status, 200, target);
      assert.equal(res.body, HELLO, target);
      assert.ok(!res.raw.includes(MARKER));
    }
  });

  test('a regular file with a trailing slash is 404', async () => {
    for (const target of ['/hello.txt/', '/hello.txt/.', '/sub/visible.txt/', '/link-in.txt/']) {
      const res = await rawGet(target);
      if (res.status === 301) {
        assert.ok(!res.headers.location[0].endsWith('/'), `${target} redirected to ${res.headers.location[0]}`);
        continue;
      }
      assert.equal(res.status, 404, `${target}: ${res.statusLine}`);
      assert.ok(!res.body.includes(HELLO) && !res.body.includes('visible\n'), target);
    }
    assert.equal((await rawGet('/hello.txt/')).status, 404);
  });

  test('positive controls: names containing .. that are not .. segments are served', async () => {
    const res = await rawGet('/foo..bar.txt');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'double dot inside a name\n');
    const tail = await rawGet('/foo..');
    assert.equal(tail.status, 200);
    assert.equal(tail.body, 'name ending in two dots\n');
    const encoded = await rawGet('/foo%2e%2ebar.txt');
    assert.equal(encoded.status, 200);
    assert.equal(encoded.body, 'double dot inside a name\n');
  });
});

describe('redirects', () => {
  /** A Location must stay on this host: a path with exactly one leading slash, no backslash. */
  function assertSafeLocation(location, port, what) {
    assert.equal(typeof location, 'string', `${what}: Location`);
    assert.ok(!location.startsWith('//'), `${what}: Location ${location} is scheme-relative`);
    assert.ok(!location.startsWith('\\') && !location.startsWith('/\\'), `${what}: Location ${location} starts with a backslash`);
    assert.ok(!location.includes('\\'), `${what}: backslash in ${location}`);
    assert.ok(!/[\x00-\x20\x7f-\xff]/.test(location), `${what}: unencoded byte in ${location}`);
    const resolved = new URL(location, `http://127.0.0.1:${port}/`);
    assert.equal(resolved.host, `127.0.0.1:${port}`, `${what}: Location ${location} names another host`);
    if (/^[a-z][a-z0-9+.-]*:/i.test(location)) assert.equal(new URL(location).host, `127.0.0.1:${port}`);
    else assert.match(location, /^\/(?!\/)/, `${what}: Location ${location} is not an absolute path`);
  }

  test('a directory without its slash → 301 to the percent-encoded slash form, query kept', async () => {
    const res = await rawGet('/sub%20dir');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location[0], '/sub%20dir/');
    const q = await rawGet('/sub%20dir?a=1&b=%2F');
    assert.equal(q.status, 301);
    assert.equal(q.headers.location[0], '/sub%20dir/?a=1&b=%2F');
    const target = await rawGet(res.headers.location[0]);
    assert.equal(target.status, 200);
    assert.ok(target.body.includes('file.txt'));
    const plain = await rawGet('/sub');
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location[0], '/sub/');
  });

  const OPEN_REDIRECTS = [
    '//evil.example',
    '//evil.example/',
    '///evil.example',
    '////evil.example',
    '/%2F/evil.example',
    '/%2f%2fevil.example',
    '/%5Cevil.example',
    '/%5C%5Cevil.example',
    '/\\evil.example',
    '/.//evil.example',
    '/./evil.example',
    '//evil.example/%2e%2e',
    '//evil.example?x=1',
    '/evil.example',
    '//evil.example//',
    '//127.0.0.2/evil.example',
  ];

  for (const target of OPEN_REDIRECTS) {
    test(`no open redirect from ${target}`, async () => {
      let current = target;
      for (let hop = 0; hop < 5; hop++) {
        const res = await rawGet(current);
        assert.ok([200, 301, 308, 400, 403, 404].includes(res.status), `${current}: ${res.statusLine}`);
        if (res.status !== 301 && res.status !== 308) {
          if (res.status === 200) assert.ok(res.body.includes('local dir named evil.example'), `${current}: ${res.body}`);
          return;
        }
        const location = res.headers.location?.[0];
        assertSafeLocation(location, srv.port, `${target} (hop ${hop + 1})`);
        current = location;
      }
      assert.fail(`${target}: redirect loop`);
    });
  }
});

describe('symlinks', () => {
  test('a symlink to a file inside the root is served', async () => {
    const res = await rawGet('/link-in.txt');
    assert.equal(res.status, 200);
    assert.equal(res.body, HELLO);
  });

  test('a symlink to a directory inside the root is served', async () => {
    const res = await rawGet('/link-sub/visible.txt');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'visible\n');
  });

  test('a symlink to a file outside the root is 404', async () => {
    const res = await rawGet('/link-out.txt');
    assert.equal(res.status, 404);
    assert.ok(!res.raw.includes(MARKER));
  });

  test('a symlink to a directory outside the root is 404, its files too', async () => {
    for (const target of ['/link-out-dir/', '/link-out-dir/inner.txt', '/link-out-dir']) {
      const res = await rawGet(target);
      assert.equal(res.status, 404, `${target}: ${res.statusLine}`);
      assert.ok(!res.raw.includes(MARKER));
      assert.ok(!res.raw.includes('inner.txt'), `${target} listed the outside directory`);
    }
  });

  test('a symlink into a sibling named like the root plus a suffix (www-private) is 404', async () => {
    for (const target of ['/link-private', '/link-private-dir/x', '/link-private-dir/']) {
      const res = await rawGet(target);
      assert.equal(res.status, 404, `${target}: ${res.statusLine}`);
      assert.ok(!res.raw.includes(MARKER));
    }
  });

  test('a listing does not disclose the size or mtime of a symlink target outside the root', async () => {
    const outside = statSync(join(base, 'secret'));
    const res = await request(srv.port, '/', { headers: { Accept: 'application/json' } });
    assert.equal(res.status, 200);
    const entries = JSON.parse(res.body.toString()).entries;
    assert.ok(entries.some((e) => e.name === 'link-in.txt'), 'positive control: an inside symlink is listed');
    const out = entries.find((e) => e.name === 'link-out.txt');
    if (out) {
      assert.notEqual(out.size, outside.size, `link-out.txt listed with the outside file's size: ${JSON.stringify(out)}`);
      assert.notEqual(Date.parse(out.mtime), outside.mtime.getTime(), `link-out.txt listed with the outside file's mtime`);
    }
    const dirEntry = entries.find((e) => e.name === 'link-out-dir');
    if (dirEntry) assert.notEqual(dirEntry.type, 'directory', 'link-out-dir listed as a followable directory');
  });

  test('a dangling symlink is 404', async () => {
    const res = await rawGet('/dangling');
    assert.equal(res.status, 404);
  });

  test('followSymlinks: true serves the outside targets', async () => {
    const file = await rawGet('/link-out.txt', follow.port);
    assert.equal(file.status, 200);
    assert.equal(file.body, `${MARKER} plain secret\n`);
    const inDir = await rawGet('/link-out-dir/inner.txt', follow.port);
    assert.equal(inDir.status, 200);
    assert.equal(inDir.body, `${MARKER} outside dir\n`);
  });

  test('followSymlinks: true still refuses .. traversal', async () => {
    for (const target of ['/../secret', '/%2e%2e/secret', '/..%2fsecret']) {
      assertRefused(await rawGet(target, follow.port), `follow ${target}`);
    }
  });
});

describe('dotfiles', () => {
  const DOT_PATHS = ['/.env', '/.git/config', '/.git/', '/.git', '/sub/.hidden', '/%2eenv', '/sub/%2Ehidden', '/.git%2fconfig'];

  test('dotfiles and dot-directories are 404 by default', async () => {
    for (const target of DOT_PATHS) {
      // An encoded slash may first be redirected to its plain spelling; the end of the chain is what counts.
      let res = await rawGet(target);
      for (let hop = 0; hop < 3 && res.status === 301; hop++) res = await rawGet(res.headers.location[0]);
      assert.equal(res.status, 404, `${target}: ${res.statusLine}`);
      assert.ok(!res.raw.includes('TOKEN=dotenv') && !res.raw.includes('[core]') && !res.raw.includes('hidden in sub'), target);
    }
    for (const target of ['/.env', '/.git/config', '/sub/.hidden']) {
      assert.equal((await rawGet(target)).status, 404, `${target} without any redirect`);
    }
  });

  test('dotfiles are absent from listings (HTML and JSON)', async () => {
    const rootHtml = await rawGet('/');
    assert.equal(rootHtml.status, 200);
    assert.ok(rootHtml.body.includes('hello.txt'), 'positive control: hello.txt is listed');
    assert.ok(!rootHtml.body.includes('.env') && !rootHtml.body.includes('.git'), 'root listing shows dotfiles');
    const subHtml = await rawGet('/sub/');
    assert.ok(subHtml.body.includes('visible.txt'));
    assert.ok(!subHtml.body.includes('.hidden'));
    const json = await request(srv.port, '/', { headers: { Accept: 'application/json' } });
    const names = JSON.parse(json.body.toString()).entries.map((e) => e.name);
    assert.ok(names.includes('hello.txt'));
    assert.ok(!names.some((n) => n.startsWith('.')), `JSON lists ${names}`);
  });

  test("dotfiles: 'allow' serves and lists them", async () => {
    const env = await rawGet('/.env', dotAllow.port);
    assert.equal(env.status, 200);
    assert.equal(env.body, 'TOKEN=dotenv\n');
    const git = await rawGet('/.git/config', dotAllow.port);
    assert.equal(git.status, 200);
    assert.equal(git.body, '[core]\n');
    const hidden = await rawGet('/sub/.hidden', dotAllow.port);
    assert.equal(hidden.status, 200);
    assert.equal(hidden.body, 'hidden in sub\n');
    const json = await request(dotAllow.port, '/', { headers: { Accept: 'application/json' } });
    const names = JSON.parse(json.body.toString()).entries.map((e) => e.name);
    assert.ok(names.includes('.env') && names.includes('.git'), `JSON lists ${names}`);
    const sub = await rawGet('/sub/', dotAllow.port);
    assert.ok(sub.body.includes('.hidden'));
  });

  test("dotfiles: 'allow' does not allow traversal", async () => {
    for (const target of ['/../secret', '/.%2e/secret', '/%2e%2e/secret']) {
      assertRefused(await rawGet(target, dotAllow.port), `allow ${target}`);
    }
  });
});

describe('special files', () => {
  test('a FIFO in the root does not hang the server: 404 in time', async () => {
    const res = await deadline(rawGet('/pipe.fifo'), 5000, 'GET /pipe.fifo');
    assert.equal(res.status, 404);
    const head = await deadline(rawGet('/pipe.fifo', srv.port, 'HEAD'), 5000, 'HEAD /pipe.fifo');
    assert.equal(head.status, 404);
    const ranged = await deadline(
      request(srv.port, '/pipe.fifo', { headers: { Range: 'bytes=0-10' }, timeout: 5000 }),
      5000,
      'ranged GET /pipe.fifo',
    );
    assert.equal(ranged.status, 404);
  });

  test('the server still answers after the FIFO, and lists the root in time', async () => {
    await deadline(rawGet('/pipe.fifo'), 5000, 'GET /pipe.fifo');
    const res = await deadline(rawGet('/'), 5000, 'GET / with a FIFO inside');
    assert.equal(res.status, 200);
    const hello = await rawGet('/hello.txt');
    assert.equal(hello.body, HELLO);
  });

  test('requests never create files or directories', async () => {
    for (const method of ['PUT', 'POST']) {
      await rawRequest(srv.port, `${method} /../created-outside HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx`);
      await rawRequest(srv.port, `${method} /newdir/created HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx`);
    }
    assert.equal(existsSync(join(base, 'created-outside')), false);
    assert.equal(existsSync(join(root, 'newdir')), false);
    mkdirSync(join(base, 'probe'), { recursive: true });
    assert.ok(existsSync(join(base, 'probe')), 'positive control: existsSync works here');
  });
});
