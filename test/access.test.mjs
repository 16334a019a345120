// Access control: HTTP Basic auth (plain and htpasswd), cross-site request
// forgery defence, and the Host check against DNS rebinding.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { ConfigError, resolveConfig } from '../dist/index.js';
import { parseRawResponse, rawRequest, request, rmSync, startServer, tempDir, writeTree } from './helpers.mjs';

const basic = (user, password) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

let root;
before(() => {
  root = tempDir();
  writeTree(root, {
    'hello.txt': 'hello\n',
    'cgi-bin/whoami.sh': {
      content: '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nuser=%s type=%s auth=%s\\n" "$REMOTE_USER" "$AUTH_TYPE" "${HTTP_AUTHORIZATION:-none}"\n',
      mode: 0o755,
    },
    'cgi-bin/touch.sh': { content: '#!/bin/sh\ntouch "$DOCUMENT_ROOT/ran"\nprintf "Content-Type: text/plain\\n\\nran\\n"\n', mode: 0o755 },
  });
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('Basic auth with --auth user:password', () => {
  let s;
  before(async () => (s = await startServer({ root, auth: ['alice:wonder land:colon'] })));
  after(() => s.close());

  test('no credentials: 401 with a Basic challenge, no content', async () => {
    const r = await request(s.port, '/hello.txt');
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'], /^Basic realm="scriptserve"/);
    assert.ok(!r.body.toString().includes('hello'));
  });

  test('wrong password, unknown user, malformed header: 401', async () => {
    for (const auth of [basic('alice', 'wonder'), basic('bob', 'wonder land:colon'), 'Basic !!!', 'Bearer x', basic('alice', '')]) {
      const r = await request(s.port, '/hello.txt', { headers: { Authorization: auth } });
      assert.equal(r.status, 401, auth);
    }
  });

  test('right credentials (password with a colon): file served, twice (cached verification)', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await request(s.port, '/hello.txt', { headers: { Authorization: basic('alice', 'wonder land:colon') } });
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'hello\n');
    }
  });

  test('REMOTE_USER and AUTH_TYPE reach scripts; the Authorization header does not', async () => {
    const r = await request(s.port, '/cgi-bin/whoami.sh', { headers: { Authorization: basic('alice', 'wonder land:colon') } });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'user=alice type=Basic auth=none\n');
  });

  test('a script is not run without credentials', async () => {
    const r = await request(s.port, '/cgi-bin/touch.sh', { method: 'POST', body: 'x' });
    assert.equal(r.status, 401);
    assert.throws(() => execFileSync('test', ['-e', join(root, 'ran')]));
  });
});

describe('Basic auth with an htpasswd file', () => {
  let s;
  let file;
  before(async () => {
    file = join(root, '..', `htpasswd-${process.pid}`);
    const sha512 = execFileSync('openssl', ['passwd', '-6', '-salt', 'pepper12', 'six-pass']).toString().trim();
    const sha256 = execFileSync('openssl', ['passwd', '-5', '-salt', 'pepper12', 'five-pass']).toString().trim();
    const bcrypt2y = bcrypt.hashSync('b-pass', 4).replace(/^\$2b\$/, '$2y$');
    writeFileSync(file, `# users\nsix:${sha512}\nfive:${sha256}\nbee:${bcrypt2y}\n\n`);
    s = await startServer({ root, authFile: file });
  });
  after(async () => {
    await s.close();
    rmSync(file, { force: true });
  });

  test('SHA-512, SHA-256 crypt and bcrypt ($2y$) users get in with their password only', async () => {
    for (const [user, pass] of [['six', 'six-pass'], ['five', 'five-pass'], ['bee', 'b-pass']]) {
      const ok = await request(s.port, '/hello.txt', { headers: { Authorization: basic(user, pass) } });
      assert.equal(ok.status, 200, user);
      const bad = await request(s.port, '/hello.txt', { headers: { Authorization: basic(user, pass + 'x') } });
      assert.equal(bad.status, 401, user);
    }
  });

  test('weak or unknown hash formats are refused at start-up', () => {
    const weak = join(root, '..', `htpasswd-weak-${process.pid}`);
    for (const line of ['u:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', 'u:$apr1$abc$def', 'u:plaintext', 'nocolon']) {
      writeFileSync(weak, line + '\n');
      assert.throws(() => resolveConfig({ root, authFile: weak }), ConfigError, line);
    }
    rmSync(weak, { force: true });
  });
});

describe('cross-site request forgery defence', () => {
  let s;
  before(async () => (s = await startServer({ root, allowOrigins: ['https://trusted.example'] })));
  after(() => s.close());
  const post = (headers) => request(s.port, '/cgi-bin/whoami.sh', { method: 'POST', body: 'x', headers });

  test('browser-marked cross-site or same-site POSTs are refused before the script runs', async () => {
    for (const headers of [
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
      { 'Sec-Fetch-Site': 'cross-site', Origin: 'https://evil.example' },
      { Origin: 'https://evil.example' },
      { Origin: 'null' },
      { Origin: `http://127.0.0.1:${s.port + 1}` },
    ]) {
      const r = await post(headers);
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.ok(!r.body.toString().includes('user='), 'the script did not run');
    }
  });

  test('same-origin, direct navigation and non-browser requests pass', async () => {
    for (const headers of [{}, { 'Sec-Fetch-Site': 'same-origin' }, { 'Sec-Fetch-Site': 'none' }, { Origin: `http://127.0.0.1:${s.port}` }]) {
      const r = await post(headers);
      assert.equal(r.status, 200, JSON.stringify(headers));
      assert.match(r.body.toString(), /^user=/);
    }
  });

  test('an allowed origin passes even when marked cross-site', async () => {
    const r = await post({ 'Sec-Fetch-Site': 'cross-site', Origin: 'https://trusted.example' });
    assert.equal(r.status, 200);
  });

  test('safe methods are never refused for their origin', async () => {
    const r = await request(s.port, '/cgi-bin/whoami.sh', { headers: { 'Sec-Fetch-Site': 'cross-site', Origin: 'https://evil.example' } });
    assert.equal(r.status, 200);
  });

  test('cors: every origin passes and gets Access-Control-Allow-Origin: *', async () => {
    const c = await startServer({ root, cors: true });
    try {
      const r = await request(c.port, '/cgi-bin/whoami.sh', { method: 'POST', body: 'x', headers: { 'Sec-Fetch-Site': 'cross-site', Origin: 'https://evil.example' } });
      assert.equal(r.status, 200);
      assert.equal(r.headers['access-control-allow-origin'], '*');
    } finally {
      await c.close();
    }
  });
});

describe('Host check (DNS rebinding)', () => {
  const get = async (port, host) => parseRawResponse(await rawRequest(port, `GET /hello.txt HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));

  test('default on a loopback bind: local names and the bound address pass, others are 403', async () => {
    const s = await startServer({ root });
    try {
      for (const host of ['localhost', `localhost:${s.port}`, '127.0.0.1', `127.0.0.1:${s.port}`, 'app.localhost', '[::1]:8000']) {
        assert.equal((await get(s.port, host)).status, 200, host);
      }
      for (const host of ['evil.example', `evil.example:${s.port}`, 'localhost.evil.example', '10.0.0.1']) {
        const r = await get(s.port, host);
        assert.equal(r.status, 403, host);
        assert.ok(!r.body.includes('hello'));
      }
    } finally {
      await s.close();
    }
  });

  test('an explicit list allows those names; "any" turns the check off', async () => {
    const listed = await startServer({ root, allowedHosts: ['dev.example'] });
    const any = await startServer({ root, allowedHosts: 'any' });
    try {
      assert.equal((await get(listed.port, 'dev.example:80')).status, 200);
      assert.equal((await get(listed.port, 'other.example')).status, 403);
      assert.equal((await get(any.port, 'other.example')).status, 200);
    } finally {
      await listed.close();
      await any.close();
    }
  });
});
