// Uploads (issue 16): PUT and multipart/form-data POST into the served
// folder, black-box over real sockets. Every behaviour of the issue: answers,
// conflict policies, folders, names, server code, limits, disconnects,
// concurrency, cross-origin and auth, unwritable folders, a full disk, the
// start-up sweep of stale temporaries, the listing's form, and 405 when off.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { deadline, parseRawResponse, PYTHON, rawRequest, request, sendAfterAnswer, startCli, startServer, tempDir, waitFor, writeTree } from './helpers.mjs';
import { h2get, h2session, startAny } from './tls-helpers.mjs';

const BOUNDARY = '----scriptserve-test-boundary';

/** A multipart/form-data body: files as { name, content, field? }, fields as [name, value]. */
function form(files, fields = []) {
  const parts = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  for (const f of files) {
    // RFC 7578 4.2 / RFC 5987: names a header cannot carry raw (control characters) come as filename*.
    const filename = f.star ? `filename*=utf-8''${encodeURIComponent(f.name)}` : `filename="${f.name}"`;
    parts.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${f.field ?? 'file'}"; ${filename}\r\nContent-Type: application/octet-stream\r\n\r\n`));
    parts.push(Buffer.from(f.content));
    parts.push(Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(parts);
}

const FORM_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

function post(port, path, files, { headers = {}, fields } = {}) {
  const body = form(files, fields);
  return request(port, path, { method: 'POST', body, headers: { 'Content-Type': FORM_TYPE, 'Content-Length': body.length, ...headers } });
}

function put(port, path, content, headers = {}) {
  const body = Buffer.from(content);
  return request(port, path, { method: 'PUT', body, headers: { 'Content-Length': body.length, ...headers } });
}

/** Every name in a folder tree (relative), temporaries included. */
function tree(dir, prefix = '') {
  const out = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    out.push(prefix + d.name);
    if (d.isDirectory()) out.push(...tree(join(dir, d.name), prefix + d.name + '/'));
  }
  return out.sort();
}

const temps = (dir) => tree(dir).filter((n) => n.split('/').pop().startsWith('.scriptserve-upload-'));

async function withServer(options, files, fn) {
  const root = tempDir();
  writeTree(root, files);
  const s = await startServer({ root, spawnHelper: false, ...options });
  try {
    await fn(s, root);
  } finally {
    await s.close();
    rmSync(root, { recursive: true, force: true });
  }
}

function umask() {
  const m = process.umask(0o022);
  process.umask(m);
  return m;
}

describe('PUT', () => {
  test('stores a new file: 201 with Location, the bytes, mode 0666 & ~umask, no temporary left', async () => {
    await withServer({ upload: true }, { 'sub/': null }, async (s, root) => {
      const res = await put(s.port, '/sub/notes%20one.txt', 'hello upload\n');
      assert.equal(res.status, 201);
      assert.equal(res.headers.location, '/sub/notes%20one.txt');
      assert.equal(readFileSync(join(root, 'sub', 'notes one.txt'), 'utf8'), 'hello upload\n');
      assert.equal(statSync(join(root, 'sub', 'notes one.txt')).mode & 0o777, 0o666 & ~umask());
      assert.deepEqual(temps(root), []);
      const get = await request(s.port, '/sub/notes%20one.txt');
      assert.equal(get.body.toString(), 'hello upload\n');
    });
  });

  test('a chunked body (no Content-Length) is stored whole', async () => {
    await withServer({ upload: true }, {}, async (s, root) => {
      const reply = parseRawResponse(await rawRequest(s.port,
        'PUT /c.txt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'));
      assert.equal(reply.status, 201);
      assert.equal(readFileSync(join(root, 'c.txt'), 'utf8'), 'hello world');
    });
  });

  test('Expect: 100-continue gets 100 before the body; a body over the limit gets 413 without it', async () => {
    await withServer({ upload: true, maxUpload: 100 }, {}, async (s, root) => {
      const reply = await deadline(new Promise((resolve, reject) => {
        const socket = connect(s.port, '127.0.0.1');
        let text = '';
        socket.on('data', (d) => {
          text += d.toString('latin1');
          if (text.startsWith('HTTP/1.1 100') && !socket.sentBody) {
            socket.sentBody = true;
            socket.write('abc');
          }
          if (/\r\n\r\n[\s\S]*HTTP\/1.1 201[\s\S]*<\/html>/.test(text)) socket.end();
        });
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
        socket.write('PUT /e.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n');
      }), 5000, '100-continue');
      assert.match(reply, /^HTTP\/1.1 100 Continue/);
      assert.match(reply, /HTTP\/1.1 201 Created/);
      assert.equal(readFileSync(join(root, 'e.txt'), 'utf8'), 'abc');
      const big = parseRawResponse(await rawRequest(s.port, 'PUT /big.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n'));
      assert.equal(big.status, 413);
      assert.equal(big.headers.connection?.[0], 'close');
      assert.ok(!existsSync(join(root, 'big.txt')));
    });
  });

  test('conflicts: error → 409 unchanged, overwrite → 204 replaced, rename → name (1).ext', async () => {
    await withServer({ upload: true }, { 'a.txt': 'old' }, async (s, root) => {
      const res = await put(s.port, '/a.txt', 'new');
      assert.equal(res.status, 409);
      assert.equal(readFileSync(join(root, 'a.txt'), 'utf8'), 'old');
    });
    await withServer({ upload: true, onConflict: 'overwrite' }, { 'a.txt': 'old' }, async (s, root) => {
      const res = await put(s.port, '/a.txt', 'new');
      assert.equal(res.status, 204);
      assert.equal(readFileSync(join(root, 'a.txt'), 'utf8'), 'new');
      assert.equal((await put(s.port, '/b.txt', 'b')).status, 201);
    });
    await withServer({ upload: true, onConflict: 'rename' }, { 'a.txt': 'old', 'a (1).txt': 'one' }, async (s, root) => {
      const res = await put(s.port, '/a.txt', 'new');
      assert.equal(res.status, 201);
      assert.equal(res.headers.location, '/a%20%282%29.txt');
      assert.equal(readFileSync(join(root, 'a (2).txt'), 'utf8'), 'new');
      assert.equal(readFileSync(join(root, 'a.txt'), 'utf8'), 'old');
      assert.equal((await put(s.port, '/README', 'r')).status, 201);
      assert.equal((await put(s.port, '/README', 'r2')).headers.location, '/README%20%281%29');
    });
  });

  test('a missing folder is 409; --upload-mkdir creates it; a folder name is never replaced', async () => {
    await withServer({ upload: true }, { 'dir/': null }, async (s, root) => {
      assert.equal((await put(s.port, '/new/deep/a.txt', 'x')).status, 409);
      assert.ok(!existsSync(join(root, 'new')));
      assert.equal((await put(s.port, '/dir', 'x')).status, 409);
      assert.ok(statSync(join(root, 'dir')).isDirectory());
    });
    await withServer({ upload: true, uploadMkdir: true }, {}, async (s, root) => {
      const res = await put(s.port, '/new/deep/a.txt', 'x');
      assert.equal(res.status, 201);
      assert.equal(readFileSync(join(root, 'new', 'deep', 'a.txt'), 'utf8'), 'x');
      // Each created segment is checked like a name: nothing is created for a bad one.
      assert.equal((await put(s.port, '/ok/.hidden/a.txt', 'x')).status, 400);
      assert.ok(!existsSync(join(root, 'ok')));
    });
  });

  test('Content-Range (a partial PUT) is 400 (RFC 9110 14.5)', async () => {
    await withServer({ upload: true }, {}, async (s, root) => {
      const res = await put(s.port, '/p.txt', 'abc', { 'Content-Range': 'bytes 0-2/10' });
      assert.equal(res.status, 400);
      assert.ok(!existsSync(join(root, 'p.txt')));
    });
  });
});

describe('multipart POST', () => {
  test('several files: 201 with JSON; non-file fields and empty file inputs ignored', async () => {
    await withServer({ upload: true }, { 'in/': null }, async (s, root) => {
      const res = await post(s.port, '/in/', [{ name: 'one.txt', content: 'first' }, { name: 'two words.bin', content: Buffer.alloc(70000, 7) }, { name: '', content: '' }], { fields: [['note', 'ignored']] });
      assert.equal(res.status, 201);
      assert.match(res.headers['content-type'], /^application\/json/);
      assert.deepEqual(JSON.parse(res.body), [
        { name: 'one.txt', size: 5, url: '/in/one.txt' },
        { name: 'two words.bin', size: 70000, url: '/in/two%20words.bin' },
      ]);
      assert.equal(readFileSync(join(root, 'in', 'one.txt'), 'utf8'), 'first');
      assert.deepEqual(readFileSync(join(root, 'in', 'two words.bin')), Buffer.alloc(70000, 7));
      assert.deepEqual(tree(root), ['in', 'in/one.txt', 'in/two words.bin']);
    });
  });

  test('a browser (prefers HTML) gets 303 See Other to the listing, which shows the file', async () => {
    await withServer({ upload: true }, { 'in/': null }, async (s) => {
      const res = await post(s.port, '/in/', [{ name: 'seen.txt', content: 'x' }], { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      assert.equal(res.status, 303);
      assert.equal(res.headers.location, '/in/');
      const listing = await request(s.port, '/in/');
      assert.match(listing.body.toString(), /seen\.txt/);
    });
  });

  test('a POST to a folder without the slash works too; a POST to a file stays 405', async () => {
    await withServer({ upload: true }, { 'in/': null, 'f.txt': 'f' }, async (s, root) => {
      assert.equal((await post(s.port, '/in', [{ name: 'a.txt', content: 'a' }])).status, 201);
      assert.ok(existsSync(join(root, 'in', 'a.txt')));
      const res = await post(s.port, '/f.txt', [{ name: 'a.txt', content: 'a' }]);
      assert.equal(res.status, 405);
    });
  });

  test('a POST to a folder whose index is a run script (--cgi-ext) goes to the script, not to uploads', async () => {
    const index = { content: '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nscript saw $REQUEST_METHOD\\n"\ncat >/dev/null\n', mode: 0o755 };
    await withServer({ upload: true, cgiExt: ['.cgi'] }, { 'app/index.cgi': index, 'plain/': null }, async (s, root) => {
      const res = await post(s.port, '/app/', [{ name: 'a.txt', content: 'a' }]);
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'script saw POST\n');
      assert.deepEqual(tree(join(root, 'app')), ['index.cgi']);
      assert.equal((await post(s.port, '/plain/', [{ name: 'a.txt', content: 'a' }])).status, 201, 'positive control');
      // A file --cgi-ext would run is server code: never written by an upload.
      assert.equal((await put(s.port, '/plain/evil.cgi', 'x')).status, 403);
      assert.equal((await post(s.port, '/plain/', [{ name: 'evil.CGI', content: 'x' }])).status, 403);
      assert.ok(!existsSync(join(root, 'plain', 'evil.cgi')));
    });
  });

  test('not multipart → 415; no file in the form → 400', async () => {
    await withServer({ upload: true }, {}, async (s, root) => {
      const res = await request(s.port, '/', { method: 'POST', body: 'a=b', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': 3 } });
      assert.equal(res.status, 415);
      assert.equal((await post(s.port, '/', [], { fields: [['a', 'b']] })).status, 400);
      assert.deepEqual(tree(root), []);
    });
  });

  test('all or nothing: a conflict on the second file keeps the first out too', async () => {
    await withServer({ upload: true }, { 'b.txt': 'old' }, async (s, root) => {
      const res = await post(s.port, '/', [{ name: 'a.txt', content: 'a' }, { name: 'b.txt', content: 'b' }]);
      assert.equal(res.status, 409);
      assert.deepEqual(tree(root), ['b.txt']);
      // Two parts with one name under `error`: the second loses, the first is taken back.
      const dup = await post(s.port, '/', [{ name: 'c.txt', content: '1' }, { name: 'c.txt', content: '2' }]);
      assert.equal(dup.status, 409);
      assert.deepEqual(tree(root), ['b.txt']);
    });
  });

  test('rename policy in a form: name (1).ext', async () => {
    await withServer({ upload: true, onConflict: 'rename' }, { 'b.txt': 'old' }, async (s, root) => {
      const res = await post(s.port, '/', [{ name: 'b.txt', content: 'new' }, { name: 'b.txt', content: 'newer' }]);
      assert.equal(res.status, 201);
      assert.deepEqual(JSON.parse(res.body).map((f) => f.name), ['b (1).txt', 'b (2).txt']);
      assert.equal(readFileSync(join(root, 'b (2).txt'), 'utf8'), 'newer');
    });
  });

  test('folder uploads (webkitdirectory relative paths) need --upload-mkdir', async () => {
    const files = [{ name: 'album/2024/a.jpg', content: 'A' }, { name: 'album/b.jpg', content: 'B' }];
    await withServer({ upload: true }, {}, async (s, root) => {
      assert.equal((await post(s.port, '/', files)).status, 400);
      assert.deepEqual(tree(root), []);
    });
    await withServer({ upload: true, uploadMkdir: true }, { 'in/': null }, async (s, root) => {
      const res = await post(s.port, '/in/', files);
      assert.equal(res.status, 201);
      assert.deepEqual(JSON.parse(res.body), [
        { name: 'album/2024/a.jpg', size: 1, url: '/in/album/2024/a.jpg' },
        { name: 'album/b.jpg', size: 1, url: '/in/album/b.jpg' },
      ]);
      assert.equal(readFileSync(join(root, 'in', 'album', '2024', 'a.jpg'), 'utf8'), 'A');
      // A bad segment anywhere: 400, and the folders this request created are removed again.
      assert.equal((await post(s.port, '/in/', [{ name: 'x/y/../z', content: 'z' }])).status, 400);
      assert.equal((await post(s.port, '/in/', [{ name: 'fresh/ok.txt', content: 'z' }, { name: 'fresh/sub/.git', content: 'z' }])).status, 400);
      assert.deepEqual(tree(join(root, 'in')), ['album', 'album/2024', 'album/2024/a.jpg', 'album/b.jpg']);
    });
  });
});

describe('names', () => {
  const BAD = [
    ['empty after a slash', 'a/', 'allow'],
    ['dot', '.', 'ignore'],
    ['dot dot', '..', 'ignore'],
    ['backslash', 'a\\b.txt', 'ignore'],
    ['NUL', 'a\0b.txt', 'ignore'],
    ['control character', 'a\x01b.txt', 'ignore'],
    ['DEL', 'a\x7fb.txt', 'ignore'],
    ['C1 control', 'a\u0085b.txt', 'ignore'],
    ['256 bytes', 'é'.repeat(128), 'ignore'],
    ['dotfile', '.env', 'ignore'],
    ['temporary prefix', '.scriptserve-upload-1-abc', 'allow'],
  ];
  for (const [what, name, dotfiles] of BAD) {
    test(`form file name: ${what} → 400 with the reason, nothing written`, async () => {
      await withServer({ upload: true, dotfiles }, {}, async (s, root) => {
        const res = await post(s.port, '/', [{ name: 'good.txt', content: 'g' }, { name, content: 'x', star: true }]);
        assert.equal(res.status, 400, what);
        assert.match(res.body.toString(), /Bad upload name: /);
        assert.deepEqual(tree(root), []);
      });
    });
  }

  test('PUT names: control characters and dotfiles 400, 255 bytes fine, NFD stored as NFC', async () => {
    await withServer({ upload: true }, {}, async (s, root) => {
      assert.equal((await put(s.port, '/a%01b', 'x')).status, 400);
      assert.equal((await put(s.port, '/.htaccess', 'x')).status, 400);
      assert.equal((await put(s.port, '/' + encodeURIComponent('é'.repeat(128)), 'x')).status, 400);
      assert.equal((await put(s.port, '/' + 'a'.repeat(255), 'x')).status, 201);
      const res = await put(s.port, '/' + encodeURIComponent('Cafe\u0301.txt'), 'x');
      assert.equal(res.status, 201);
      assert.deepEqual(tree(root).filter((n) => n.startsWith('Caf')), ['Caf\u00e9.txt']);
      assert.equal(res.headers.location, '/Caf%C3%A9.txt');
    });
  });

  test('dotfiles are accepted with --dotfiles allow; a positive control with odd but legal names', async () => {
    await withServer({ upload: true, dotfiles: 'allow' }, {}, async (s, root) => {
      assert.equal((await put(s.port, '/.env', 'x')).status, 201);
      const res = await post(s.port, '/', [{ name: 'foo..bar (draft) #1 %20.txt', content: 'y' }]);
      assert.equal(res.status, 201);
      assert.ok(existsSync(join(root, 'foo..bar (draft) #1 %20.txt')));
    });
  });
});

describe('never server code, never outside', () => {
  test('script directory, mapped extension, config file (existing or not), route command, auth file: 403', async () => {
    const root = tempDir();
    writeTree(root, { 'cgi-bin/run.sh': { content: '#!/bin/sh\necho\n', mode: 0o755 }, 'tools/cmd.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 }, 'users.htpasswd': 'u:$2y$05$' + 'a'.repeat(53) + '\n' });
    const s = await startServer({
      root, upload: true, onConflict: 'overwrite', spawnHelper: false,
      interpreters: { '.py': PYTHON },
      routes: [{ method: 'GET', path: '/cmd', command: 'tools/cmd.sh' }],
    });
    try {
      // (A PUT to an existing script such as /cgi-bin/run.sh runs it, as without uploads: it is a script target.)
      for (const path of ['/cgi-bin/new.sh', '/x.py', '/sub.PY', '/scriptserve.json', '/tools/cmd.sh']) {
        const res = await put(s.port, path, 'evil');
        assert.equal(res.status, 403, path);
      }
      const res = await post(s.port, '/', [{ name: 'ok.txt', content: 'ok' }, { name: 'evil.py', content: 'x' }]);
      assert.equal(res.status, 403);
      assert.equal(readFileSync(join(root, 'tools', 'cmd.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
      assert.deepEqual(tree(root), ['cgi-bin', 'cgi-bin/run.sh', 'tools', 'tools/cmd.sh', 'users.htpasswd']);
    } finally {
      await s.close();
    }
    const s2 = await startServer({ root, upload: true, onConflict: 'overwrite', spawnHelper: false, authFile: join(root, 'users.htpasswd'), auth: ['me:pw'] });
    try {
      const auth = { Authorization: 'Basic ' + Buffer.from('me:pw').toString('base64') };
      assert.equal((await put(s2.port, '/users.htpasswd', 'me:x', auth)).status, 403);
      assert.equal((await request(s2.port, '/users.htpasswd', { headers: auth })).status, 404);
    } finally {
      await s2.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a symlinked folder pointing outside the root is refused, also with --follow-symlinks', async () => {
    const outside = tempDir();
    for (const followSymlinks of [false, true]) {
      await withServer({ upload: true, followSymlinks }, {}, async (s, root) => {
        symlinkSync(outside, join(root, 'out'));
        assert.equal((await put(s.port, '/out/a.txt', 'x')).status, 403);
        assert.equal((await post(s.port, '/out/', [{ name: 'a.txt', content: 'x' }])).status, 403);
        assert.deepEqual(readdirSync(outside), []);
      });
    }
    rmSync(outside, { recursive: true, force: true });
  });

  test('--upload-dir: only there and below (real paths), elsewhere unchanged', async () => {
    await withServer({ uploadDirs: ['/incoming/'] }, { 'incoming/sub/': null, 'private/': null, 'f.txt': 'f' }, async (s, root) => {
      symlinkSync(join(root, 'private'), join(root, 'incoming', 'link'));
      assert.equal((await put(s.port, '/incoming/a.txt', 'a')).status, 201);
      assert.equal((await post(s.port, '/incoming/sub/', [{ name: 'b.txt', content: 'b' }])).status, 201);
      assert.equal((await put(s.port, '/incoming/link/c.txt', 'c')).status, 403);
      assert.equal((await put(s.port, '/f.txt', 'x')).status, 405);
      assert.equal((await put(s.port, '/private/x.txt', 'x')).status, 404);
      assert.equal((await post(s.port, '/private/', [{ name: 'x.txt', content: 'x' }])).status, 405);
      assert.deepEqual(readdirSync(join(root, 'private')), []);
      const listing = (await request(s.port, '/')).body.toString();
      assert.doesNotMatch(listing, /<form class="upload"/);
      assert.match((await request(s.port, '/incoming/')).body.toString(), /<form class="upload"/);
    });
  });

  test('config file keys: "uploadDirs" and "onConflict" in scriptserve.json', async () => {
    await withServer({}, { 'scriptserve.json': JSON.stringify({ uploadDirs: ['/in/'], onConflict: 'rename' }), 'in/x.txt': 'x' }, async (s, root) => {
      const res = await put(s.port, '/in/x.txt', 'y');
      assert.equal(res.status, 201);
      assert.equal(readFileSync(join(root, 'in', 'x (1).txt'), 'utf8'), 'y');
    });
  });
});

describe('limits', () => {
  test('--max-upload: a declared body over it is 413 at once and the connection closes; a chunked one when passed', async () => {
    await withServer({ upload: true, maxUpload: 1000 }, {}, async (s, root) => {
      const declared = parseRawResponse(await rawRequest(s.port, 'PUT /a.bin HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000\r\n\r\n' + 'x'.repeat(100)));
      assert.equal(declared.status, 413);
      assert.equal(declared.headers.connection[0], 'close');
      const chunk = 'x'.repeat(600);
      const chunked = parseRawResponse(await rawRequest(s.port,
        `PUT /b.bin HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n258\r\n${chunk}\r\n`));
      assert.equal(chunked.status, 413);
      assert.equal(chunked.headers.connection[0], 'close');
      const body = form([{ name: 'c.bin', content: Buffer.alloc(2000) }]);
      const formRes = parseRawResponse(await rawRequest(s.port, `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${FORM_TYPE}\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body.toString('latin1')}\r\n`));
      assert.equal(formRes.status, 413);
      await waitFor(() => temps(root).length === 0, 3000);
      assert.deepEqual(tree(root), []);
      assert.equal((await put(s.port, '/ok.bin', Buffer.alloc(1000))).status, 201);
    });
  });

  test('a client still sending after its 413 (declared, or passing the limit part-way) reads it and is not reset', async () => {
    await withServer({ upload: true, maxUpload: 100000 }, {}, async (s, root) => {
      const declared = await sendAfterAnswer(s.port, 'PUT /a.bin HTTP/1.1\r\nHost: localhost\r\nContent-Length: 50000000\r\n\r\n');
      // Chunked, so the limit is passed in the body: 192 KiB against 100,000 bytes.
      const midway = await sendAfterAnswer(s.port, 'PUT /b.bin HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n', { initialBytes: 3 * 65536, chunked: true });
      for (const [what, r] of [['declared', declared], ['midway', midway]]) {
        assert.equal(parseRawResponse(r.answer).status, 413, what);
        assert.deepEqual({ sentAfter: r.sentAfter, error: r.error }, { sentAfter: 1 << 20, error: null }, `${what}: reset while the client was still sending`);
      }
      await waitFor(() => temps(root).length === 0, 3000);
      assert.deepEqual(tree(root), []);
    });
  });

  test('a form passing the limit while its file is still being placed: 413, the server lives on', async () => {
    await withServer({ upload: true, maxUpload: 1000 }, {}, async (s, root) => {
      const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n` + 'x'.repeat(300);
      const more = 'y'.repeat(1500);
      const hex = (t) => Buffer.byteLength(t).toString(16);
      const reply = parseRawResponse(await rawRequest(s.port,
        `POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${FORM_TYPE}\r\nTransfer-Encoding: chunked\r\n\r\n${hex(head)}\r\n${head}\r\n${hex(more)}\r\n${more}\r\n`));
      assert.equal(reply.status, 413);
      await waitFor(() => temps(root).length === 0, 3000);
      assert.deepEqual(tree(root), []);
      assert.equal((await request(s.port, '/')).status, 200, 'still serving');
    });
  });

  test('--max-upload-files: one more file is 413, nothing stored', async () => {
    await withServer({ upload: true, maxUploadFiles: 2 }, {}, async (s, root) => {
      const three = [1, 2, 3].map((n) => ({ name: `${n}.txt`, content: String(n) }));
      assert.equal((await post(s.port, '/', three)).status, 413);
      assert.deepEqual(tree(root), []);
      assert.equal((await post(s.port, '/', three.slice(0, 2))).status, 201);
    });
  });

  test('--max-uploads: when every slot is taken, 503 with Retry-After; the held upload then completes', async () => {
    await withServer({ upload: true, maxUploads: 1 }, {}, async (s, root) => {
      const socket = connect(s.port, '127.0.0.1');
      let reply = '';
      socket.on('data', (d) => (reply += d));
      socket.write('PUT /slow.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello');
      assert.ok(await waitFor(() => temps(root).length === 1, 5000), 'the first upload started');
      const busy = await put(s.port, '/other.txt', 'x');
      assert.equal(busy.status, 503);
      assert.ok(Number(busy.headers['retry-after']) > 0);
      socket.write('world');
      await deadline(new Promise((r) => socket.on('close', r)), 5000, 'first upload');
      assert.match(reply, /^HTTP\/1.1 201/);
      assert.equal(readFileSync(join(root, 'slow.txt'), 'utf8'), 'helloworld');
      assert.equal((await put(s.port, '/other.txt', 'x')).status, 201);
    });
  });
});

describe('a client that leaves', () => {
  for (const kind of ['PUT', 'POST']) {
    test(`${kind}: disconnect mid-body leaves no file and no temporary`, async () => {
      await withServer({ upload: true }, {}, async (s, root) => {
        const socket = connect(s.port, '127.0.0.1');
        socket.on('error', () => {});
        const part = Buffer.alloc(200_000, 1);
        if (kind === 'PUT') {
          socket.write('PUT /gone.bin HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n');
        } else {
          socket.write(`POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${FORM_TYPE}\r\nContent-Length: 1000000\r\n\r\n`);
          socket.write(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="gone.bin"\r\n\r\n`);
        }
        socket.write(part);
        assert.ok(await waitFor(() => temps(root).length === 1, 5000), 'the upload started');
        socket.destroy();
        assert.ok(await waitFor(() => tree(root).length === 0, 5000), `left: ${tree(root)}`);
        assert.equal((await request(s.port, '/')).status, 200);
      });
    });
  }
});

describe('concurrency', () => {
  const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(300_000, 65 + i));
  test('eight PUTs of one name at once under error: one 201, seven 409, the file is one body whole', async () => {
    await withServer({ upload: true }, {}, async (s, root) => {
      const results = await Promise.all(bodies.map((b) => put(s.port, '/same.bin', b)));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
      const stored = readFileSync(join(root, 'same.bin'));
      assert.ok(bodies.some((b) => b.equals(stored)), 'never a mixed file');
      assert.deepEqual(tree(root), ['same.bin']);
    });
  });

  test('under rename: eight files, each one body whole', async () => {
    await withServer({ upload: true, onConflict: 'rename' }, {}, async (s, root) => {
      const results = await Promise.all(bodies.map((b) => put(s.port, '/same.bin', b)));
      assert.ok(results.every((r) => r.status === 201));
      const names = tree(root);
      assert.equal(names.length, 8);
      const hashes = new Set(names.map((n) => createHash('sha256').update(readFileSync(join(root, n))).digest('hex')));
      assert.deepEqual(hashes, new Set(bodies.map((b) => createHash('sha256').update(b).digest('hex'))));
    });
  });

  test('under overwrite: the file is always one body whole', async () => {
    await withServer({ upload: true, onConflict: 'overwrite' }, {}, async (s, root) => {
      await Promise.all(bodies.map((b) => put(s.port, '/same.bin', b)));
      const stored = readFileSync(join(root, 'same.bin'));
      assert.ok(bodies.some((b) => b.equals(stored)));
      assert.deepEqual(tree(root), ['same.bin']);
    });
  });
});

describe('who may upload', () => {
  test('cross-origin uploads: refused even with --cors, accepted from an --allow-origin origin and from the same origin', async () => {
    const evil = { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site' };
    await withServer({ upload: true, cors: true }, {}, async (s, root) => {
      assert.equal((await put(s.port, '/a.txt', 'x', evil)).status, 403);
      assert.equal((await post(s.port, '/', [{ name: 'b.txt', content: 'x' }], { headers: evil })).status, 403);
      assert.deepEqual(tree(root), []);
      const same = await put(s.port, '/c.txt', 'x', { Origin: `http://127.0.0.1:${s.port}`, 'Sec-Fetch-Site': 'same-origin' });
      assert.equal(same.status, 201);
    });
    await withServer({ upload: true, cors: true, allowOrigins: ['http://evil.example'] }, {}, async (s) => {
      assert.equal((await put(s.port, '/a.txt', 'x', evil)).status, 201);
    });
    await withServer({ upload: true }, {}, async (s) => {
      assert.equal((await put(s.port, '/a.txt', 'x', evil)).status, 403);
    });
  });

  test('a preflight from an allowed origin lists POST for an upload folder and PUT for a name in it', async () => {
    const origin = 'http://app.example';
    await withServer({ upload: true, allowOrigins: [origin] }, { 'in/': null }, async (s) => {
      const ask = (path, method) => request(s.port, path, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': method } });
      const put = await ask('/in/new.txt', 'PUT');
      assert.equal(put.status, 204);
      assert.match(put.headers['access-control-allow-methods'], /\bPUT\b/);
      const post = await ask('/in/', 'POST');
      assert.match(post.headers['access-control-allow-methods'], /\bPOST\b/);
    });
    await withServer({ allowOrigins: [origin] }, { 'in/': null }, async (s) => {
      const off = await request(s.port, '/in/new.txt', { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'PUT' } });
      assert.doesNotMatch(off.headers['access-control-allow-methods'] ?? '', /PUT/);
    });
  });

  test('below --base-path: Location and the 303 carry the prefix', async () => {
    await withServer({ upload: true, basePath: '/app' }, { 'in/': null }, async (s, root) => {
      const res = await put(s.port, '/app/in/a.txt', 'x');
      assert.equal(res.status, 201);
      assert.equal(res.headers.location, '/app/in/a.txt');
      assert.equal(readFileSync(join(root, 'in', 'a.txt'), 'utf8'), 'x');
      const form = await post(s.port, '/app/in/', [{ name: 'b.txt', content: 'b' }], { headers: { Accept: 'text/html' } });
      assert.equal(form.status, 303);
      assert.equal(form.headers.location, '/app/in/');
      assert.equal(JSON.parse((await post(s.port, '/app/in/', [{ name: 'c.txt', content: 'c' }])).body)[0].url, '/app/in/c.txt');
    });
  });

  test('--auth applies to uploads', async () => {
    await withServer({ upload: true, auth: ['u:secret'] }, {}, async (s, root) => {
      assert.equal((await put(s.port, '/a.txt', 'x')).status, 401);
      assert.deepEqual(tree(root), []);
      const res = await put(s.port, '/a.txt', 'x', { Authorization: 'Basic ' + Buffer.from('u:secret').toString('base64') });
      assert.equal(res.status, 201);
    });
  });

  test('uploads off: PUT and POST stay 405 (404 for a new name), nothing written', async () => {
    await withServer({}, { 'd/': null, 'f.txt': 'f' }, async (s, root) => {
      assert.equal((await post(s.port, '/d/', [{ name: 'a.txt', content: 'a' }])).status, 405);
      assert.equal((await put(s.port, '/f.txt', 'x')).status, 405);
      assert.equal((await put(s.port, '/d/new.txt', 'x')).status, 404);
      assert.deepEqual(tree(root), ['d', 'f.txt']);
      assert.doesNotMatch((await request(s.port, '/d/')).body.toString(), /<form class="upload"/);
    });
  });

  test('a warning at start-up when uploads listen beyond loopback without --auth', async () => {
    const root = tempDir();
    try {
      const cli = await startCli(['--upload', '--no-cgi', '-q', '-b', '0.0.0.0', '-p', '0', root]);
      await waitFor(() => cli.stderr().includes('uploads are enabled'), 3000);
      await cli.stop();
      assert.match(cli.stderr(), /warning: uploads are enabled without --auth/);
      const quiet = await startCli(['--upload', '--no-cgi', '-q', '-p', '0', root]);
      await quiet.stop();
      assert.doesNotMatch(quiet.stderr(), /uploads are enabled/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('storage failures', () => {
  test('a folder the server may not write: 403, nothing left (server run as nobody)', async () => {
    const root = tempDir();
    writeTree(root, { 'ro/': null, 'rw/': null });
    chmodSync(root, 0o755);
    chmodSync(join(root, 'ro'), 0o755);
    chmodSync(join(root, 'rw'), 0o777);
    const cli = await startCli(['--upload', '--no-cgi', '-q', '-p', '0', root], { uid: 65534, gid: 65534 });
    try {
      const res = await put(cli.port, '/ro/a.txt', 'x');
      assert.equal(res.status, 403);
      assert.match(res.body.toString(), /may not write/);
      assert.equal((await post(cli.port, '/ro/', [{ name: 'b.txt', content: 'b' }])).status, 403);
      assert.deepEqual(tree(join(root, 'ro')), []);
      assert.equal((await put(cli.port, '/rw/a.txt', 'x')).status, 201, 'positive control');
    } finally {
      await cli.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });

  const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
  test('a full disk: 507, no partial file, no temporary (a 64 KiB tmpfs)', { skip: canMount ? false : 'needs root and mount' }, async () => {
    await withServer({ upload: true }, { 'small/': null }, async (s, root) => {
      const dir = join(root, 'small');
      const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
      if (mounted.status !== 0) {
        if (process.env.CI) assert.fail(`mount failed: ${mounted.stderr}`);
        return;
      }
      try {
        const res = await put(s.port, '/small/big.bin', Buffer.alloc(400_000, 1));
        assert.equal(res.status, 507);
        const formRes = await post(s.port, '/small/', [{ name: 'big.bin', content: Buffer.alloc(400_000, 1) }]);
        assert.equal(formRes.status, 507);
        assert.deepEqual(readdirSync(dir), []);
        assert.equal((await put(s.port, '/small/ok.txt', 'fits')).status, 201, 'positive control');
      } finally {
        spawnSync('umount', [dir]);
      }
    });
  });
});

describe('start-up sweep of stale temporaries', () => {
  test('removes those of dead processes, keeps those of running ones', async () => {
    const dead = spawnSync('/bin/true').pid;
    const live = spawn('/bin/sleep', ['30']);
    try {
      await withServer({}, {}, async () => {});
      const root = tempDir();
      const names = {
        dead: `.scriptserve-upload-${dead}-0123abcd`,
        deadDeep: `sub/.scriptserve-upload-${dead}-89ab`,
        live: `.scriptserve-upload-${live.pid}-4567cdef`,
        other: '.scriptserve-upload-notapid-1',
      };
      writeTree(root, Object.fromEntries(Object.values(names).map((n) => [n, 'partial'])));
      const s = await startServer({ root, upload: true, spawnHelper: false });
      try {
        assert.ok(await waitFor(() => !existsSync(join(root, names.dead)) && !existsSync(join(root, names.deadDeep)), 5000), 'dead ones removed');
        assert.ok(existsSync(join(root, names.live)), 'a running process keeps its temporary');
        assert.ok(existsSync(join(root, names.other)), 'only names of the pattern are touched');
        assert.equal((await request(s.port, '/' + names.live)).status, 404, 'never served');
      } finally {
        await s.close();
        rmSync(root, { recursive: true, force: true });
      }
    } finally {
      live.kill('SIGKILL');
    }
  });
});

describe('listing form', () => {
  test('the listing carries the form, and its script is allowed by hash in the CSP', async () => {
    await withServer({ upload: true, uploadMkdir: true }, { 'a.txt': 'a' }, async (s) => {
      const res = await request(s.port, '/');
      const html = res.body.toString();
      // No action: the form posts to the page's own URL (the folder, below any --base-path).
      assert.match(html, /<form class="upload" method="post" enctype="multipart\/form-data">/);
      assert.match(html, /webkitdirectory/);
      const csp = res.headers['content-security-policy'];
      const scripts = [...html.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
      const drop = scripts.find((text) => text.includes('form.upload'));
      assert.ok(drop, 'the drag-and-drop script is on the page');
      for (const text of scripts) assert.ok(csp.includes(`'sha256-${createHash('sha256').update(text).digest('base64')}'`), 'every inline script is allowed by its hash');
      assert.doesNotMatch(csp, /unsafe-inline/);
      const json = await request(s.port, '/', { headers: { Accept: 'application/json' } });
      assert.doesNotMatch(json.body.toString(), /form/);
    });
    await withServer({ upload: true }, {}, async (s) => {
      assert.doesNotMatch((await request(s.port, '/')).body.toString(), /webkitdirectory/);
    });
  });
});

describe('over HTTP/2 (h2c)', () => {
  test('PUT and a form are stored; a body over the limit is 413 for its stream only, the session goes on', async () => {
    const root = tempDir();
    writeTree(root, { 'in/': null });
    const srv = await startAny({ root, h2c: true, upload: true, maxUpload: 100_000, spawnHelper: false });
    const session = h2session(`http://127.0.0.1:${srv.port}`);
    try {
      const put = await h2get(session, '/in/a.bin', { method: 'PUT', body: Buffer.alloc(50_000, 3) });
      assert.equal(put.status, 201);
      assert.equal(put.headers.location, '/in/a.bin');
      const body = form([{ name: 'b.txt', content: 'bee' }]);
      const posted = await h2get(session, '/in/', { method: 'POST', body, headers: { 'content-type': FORM_TYPE } });
      assert.equal(posted.status, 201);
      assert.deepEqual(JSON.parse(posted.body), [{ name: 'b.txt', size: 3, url: '/in/b.txt' }]);
      const big = await h2get(session, '/in/big.bin', { method: 'PUT', body: Buffer.alloc(300_000, 1) });
      assert.equal(big.status, 413);
      assert.equal(big.headers.connection, undefined);
      // A form over the limit, without Content-Length: refused mid-body (the file streams are destroyed with the form).
      const bigForm = form([{ name: 'c.bin', content: Buffer.alloc(150_000, 2) }, { name: 'd.bin', content: Buffer.alloc(150_000, 2) }]);
      const refused = await h2get(session, '/in/', { method: 'POST', body: bigForm, headers: { 'content-type': FORM_TYPE } });
      assert.equal(refused.status, 413);
      const after = await h2get(session, '/in/a.bin');
      assert.equal(after.status, 200, 'the session still serves');
      assert.deepEqual(after.body, Buffer.alloc(50_000, 3));
      await waitFor(() => temps(root).length === 0, 3000);
      assert.deepEqual(tree(root), ['in', 'in/a.bin', 'in/b.txt']);
    } finally {
      session.close();
      await srv.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a body refused part-way: its stream still closes, the client is not left blocked sending the rest', async () => {
    const root = tempDir();
    writeTree(root, { 'in/': null });
    const srv = await startAny({ root, h2c: true, upload: true, maxUpload: 100_000, spawnHelper: false });
    const session = h2session(`http://127.0.0.1:${srv.port}`);
    try {
      // No Content-Length: the limit is passed in the body, after the server read some of it.
      const stream = session.request({ ':method': 'PUT', ':path': '/in/big.bin' }, { endStream: false });
      let status;
      stream.on('response', (h) => (status = h[':status']));
      stream.on('data', () => {});
      stream.on('error', () => {});
      const closed = new Promise((resolve) => stream.once('close', resolve));
      for (let i = 0; i < 16; i++) stream.write(Buffer.alloc(65536, 1));
      stream.end();
      await deadline(closed, 5000, 'the refused stream closing');
      assert.equal(status, 413);
      await waitFor(() => temps(root).length === 0, 3000);
      assert.deepEqual(tree(root), ['in']);
    } finally {
      session.close();
      await srv.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

