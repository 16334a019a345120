// Everything over HTTP/2: over TLS (ALPN, with HTTP/1.1 fallback) and over
// cleartext with prior knowledge (--h2c), with node:http2 and curl as clients.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { deadline, FIXTURES, needProgram, PYTHON, request, rmSync, tempDir, writeTree } from './helpers.mjs';
import { envOf, h2get, h2session, makeCert, startAny } from './tls-helpers.mjs';

const run = promisify(execFile);
const curlSkip = needProgram('/usr/bin/curl', 'curl');

function siteTree(root) {
  writeTree(root, {
    'a.txt': 'hello over h2\n',
    'dir/b.txt': 'b\n',
    'cgi-bin/hop.sh': {
      content: '#!/bin/sh\nprintf "Content-Type: text/plain\\nConnection: close\\nKeep-Alive: timeout=5\\nUpgrade: h2c\\nTransfer-Encoding: chunked\\nX-Kept: yes\\n\\nhop ok\\n"\n',
      mode: 0o755,
    },
    'cgi-bin/reason.sh': { content: '#!/bin/sh\nprintf "Status: 201 Made It\\nContent-Type: text/plain\\n\\nmade\\n"\n', mode: 0o755 },
  });
  for (const name of ['env.py', 'echo.py', 'stream.py', 'nph-raw.py']) copyFileSync(join(FIXTURES, 'cgi-bin', name), join(root, 'cgi-bin', name));
}

describe('HTTP/2 over TLS', () => {
  let dir;
  let srv;
  let session;
  let origin;
  // node:http2 warns (on stderr) when given what HTTP/2 has no place for: a reason phrase, a Connection header.
  const warnings = [];
  const onWarning = (w) => warnings.push(w.message);

  before(async () => {
    process.on('warning', onWarning);
    dir = tempDir();
    siteTree(join(dir, 'site'));
    const { cert, key } = await makeCert(dir, 'server');
    srv = await startAny({
      root: join(dir, 'site'),
      tlsCert: cert,
      tlsKey: key,
      interpreters: { '.py': PYTHON },
      routes: [{ method: 'GET', path: '/routed', command: 'echo routed' }],
      maxBody: 1000,
    });
    origin = `https://127.0.0.1:${srv.port}`;
    session = h2session(origin);
  });

  after(async () => {
    process.off('warning', onWarning);
    session?.close();
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ALPN picks h2; static GET, HEAD, 304, 206 and 416 answer as over HTTP/1.1', async () => {
    await deadline(new Promise((resolve) => (session.connecting ? session.once('connect', resolve) : resolve())), 5000, 'connect');
    assert.equal(session.alpnProtocol, 'h2');
    const got = await h2get(session, '/a.txt');
    assert.equal(got.status, 200);
    assert.equal(got.body.toString(), 'hello over h2\n');
    const etag = got.headers.etag;
    assert.ok(etag);
    const head = await h2get(session, '/a.txt', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '14');
    assert.equal(head.body.length, 0);
    assert.equal((await h2get(session, '/a.txt', { headers: { 'if-none-match': etag } })).status, 304);
    const part = await h2get(session, '/a.txt', { headers: { range: 'bytes=0-4' } });
    assert.equal(part.status, 206);
    assert.equal(part.body.toString(), 'hello');
    assert.equal(part.headers['content-range'], 'bytes 0-4/14');
    assert.equal((await h2get(session, '/a.txt', { headers: { range: 'bytes=100-200' } })).status, 416);
    assert.equal((await h2get(session, '/missing')).status, 404);
    const listing = await h2get(session, '/dir/');
    assert.equal(listing.status, 200);
    assert.match(listing.body.toString(), /b\.txt/);
  });

  test('CGI sees HTTP/2.0, HTTPS=on, REQUEST_SCHEME, the port and :authority as Host; no pseudo-header reaches it', async () => {
    const got = await h2get(session, '/cgi-bin/env.py/x?q=1', { headers: { 'x-test': 'yes' } });
    assert.equal(got.status, 200);
    const env = envOf(got.body);
    assert.equal(env.SERVER_PROTOCOL, 'HTTP/2.0');
    assert.equal(env.HTTPS, 'on');
    assert.equal(env.REQUEST_SCHEME, 'https');
    assert.equal(env.SERVER_PORT, String(srv.port));
    assert.equal(env.SERVER_NAME, '127.0.0.1');
    assert.equal(env.HTTP_HOST, `127.0.0.1:${srv.port}`);
    assert.equal(env.HTTP_X_TEST, 'yes');
    assert.equal(env.PATH_INFO, '/x');
    assert.equal(env.QUERY_STRING, 'q=1');
    for (const key of Object.keys(env)) assert.match(key, /^[A-Z][A-Z0-9_]*$/, `a variable named ${JSON.stringify(key)}`);
    for (const name of ['HTTP_METHOD', 'HTTP_PATH', 'HTTP_SCHEME', 'HTTP_AUTHORITY', 'HTTP__METHOD', 'HTTP__PATH', 'HTTP__SCHEME', 'HTTP__AUTHORITY']) {
      assert.equal(env[name], undefined, name);
    }
  });

  test('a request body streams to the script and its response back; limits apply', async () => {
    const body = Buffer.alloc(900, 'x');
    const got = await h2get(session, '/cgi-bin/echo.py', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, body);
    assert.equal((await h2get(session, '/cgi-bin/echo.py', { method: 'POST', body: Buffer.alloc(2000) })).status, 413);
    // Streamed output arrives line by line, before the script ends.
    const lines = await deadline(new Promise((resolve, reject) => {
      const stream = session.request({ ':path': '/cgi-bin/stream.py' });
      const seen = [];
      stream.on('data', (c) => {
        seen.push(c.toString());
        if (seen.length === 1) resolve({ first: c.toString(), done: stream.readableEnded });
      });
      stream.on('error', reject);
    }), 10000, 'first streamed line');
    assert.equal(lines.first, 'line 1\n');
    assert.equal(lines.done, false);
  });

  test('connection-specific headers a script prints are dropped; NPH is parsed and relayed; no reason phrase', async () => {
    const hop = await h2get(session, '/cgi-bin/hop.sh');
    assert.equal(hop.status, 200);
    assert.equal(hop.body.toString(), 'hop ok\n');
    assert.equal(hop.headers['x-kept'], 'yes');
    for (const name of ['connection', 'keep-alive', 'upgrade', 'transfer-encoding']) assert.equal(hop.headers[name], undefined, name);
    const nph = await h2get(session, '/cgi-bin/nph-raw.py');
    assert.equal(nph.status, 200);
    assert.equal(nph.headers['x-nph'], 'raw');
    assert.equal(nph.body.toString(), 'nph body ok\n');
    const made = await h2get(session, '/cgi-bin/reason.sh');
    assert.equal(made.status, 201);
    assert.equal(made.body.toString(), 'made\n');
  });

  test('command routes, the Host check and the cross-origin check with https origins', async () => {
    const routed = await h2get(session, '/routed');
    assert.equal(routed.status, 200);
    assert.equal(routed.body.toString(), 'routed\n');
    assert.equal((await h2get(session, '/a.txt', { headers: { ':authority': 'evil.example' } })).status, 403);
    // RFC 9113 8.3.1: a Host naming another authority than :authority is malformed.
    assert.equal((await h2get(session, '/a.txt', { headers: { ':authority': `127.0.0.1:${srv.port}`, host: 'other.example' } })).status, 400);
    const cross = await h2get(session, '/cgi-bin/echo.py', { method: 'POST', body: 'x', headers: { origin: 'https://evil.example' } });
    assert.equal(cross.status, 403);
    const same = await h2get(session, '/cgi-bin/echo.py', { method: 'POST', body: 'x', headers: { origin } });
    assert.equal(same.status, 200);
  });

  test('access log lines are written for HTTP/2 requests', async () => {
    await h2get(session, '/a.txt?logged');
    assert.ok(srv.logs.some((l) => /GET \/a\.txt\?logged 200 14 /.test(l)), srv.logs.join('\n'));
  });

  test('HTTP/1.1 still works on the same port (ALPN fallback)', async () => {
    const got = await deadline(new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: srv.port, path: '/cgi-bin/env.py', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, version: res.httpVersion, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end();
    }), 10000, 'https/1.1');
    assert.equal(got.status, 200);
    assert.equal(got.version, '1.1');
    assert.equal(envOf(got.body).SERVER_PROTOCOL, 'HTTP/1.1');
    assert.equal(envOf(got.body).HTTPS, 'on');
  });

  test('no process warning: nothing HTTP/2 forbids was handed to node:http2', async () => {
    assert.equal((await h2get(session, '/cgi-bin/echo.py', { method: 'POST', body: Buffer.alloc(2000) })).status, 413);
    assert.equal((await h2get(session, '/cgi-bin/reason.sh')).status, 201);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
  });

  test('curl --http2 negotiates h2', { skip: curlSkip }, async () => {
    const { stdout } = await run('curl', ['-sk', '--http2', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', `${origin}/a.txt`], { timeout: 10000 });
    assert.equal(stdout, '2 200');
  });
});

describe('HTTP/2 with authentication', () => {
  test('401 without credentials, 200 with them', async () => {
    const dir = tempDir();
    writeTree(dir, { 'a.txt': 'secret\n' });
    const { cert, key } = await makeCert(dir, 'server');
    const srv = await startAny({ root: dir, tlsCert: cert, tlsKey: key, auth: ['ann:pw'] });
    const session = h2session(`https://127.0.0.1:${srv.port}`);
    try {
      const denied = await h2get(session, '/a.txt');
      assert.equal(denied.status, 401);
      assert.match(denied.headers['www-authenticate'], /Basic/);
      const ok = await h2get(session, '/a.txt', { headers: { authorization: 'Basic ' + Buffer.from('ann:pw').toString('base64') } });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.toString(), 'secret\n');
    } finally {
      session.close();
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--no-http2', () => {
  test('TLS offers HTTP/1.1 only', async () => {
    const dir = tempDir();
    writeTree(dir, { 'a.txt': 'one\n' });
    const { cert, key } = await makeCert(dir, 'server');
    const srv = await startAny({ root: dir, tlsCert: cert, tlsKey: key, http2: false });
    try {
      const session = h2session(`https://127.0.0.1:${srv.port}`);
      const failed = await deadline(new Promise((resolve) => {
        session.once('error', (err) => resolve(err));
        session.once('connect', () => resolve(null));
      }), 5000, 'h2 attempt');
      session.destroy();
      assert.ok(failed, 'an HTTP/2-only client must fail against --no-http2');
      const got = await deadline(new Promise((resolve, reject) => {
        httpsRequest({ host: '127.0.0.1', port: srv.port, path: '/a.txt', rejectUnauthorized: false }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode, body }));
        }).on('error', reject).end();
      }), 5000, 'https GET');
      assert.deepEqual(got, { status: 200, body: 'one\n' });
    } finally {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--h2c: cleartext HTTP/2 with prior knowledge beside HTTP/1.1', () => {
  let dir;
  let srv;

  before(async () => {
    dir = tempDir();
    siteTree(dir);
    srv = await startAny({ root: dir, h2c: true, interpreters: { '.py': PYTHON } });
  });

  after(async () => {
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('HTTP/1.1 and HTTP/2 on one port; CGI says http and HTTP/2.0', async () => {
    const h1 = await request(srv.port, '/a.txt');
    assert.equal(h1.status, 200);
    assert.equal(h1.body.toString(), 'hello over h2\n');
    const session = h2session(`http://127.0.0.1:${srv.port}`);
    try {
      const got = await h2get(session, '/a.txt');
      assert.equal(got.status, 200);
      assert.equal(got.body.toString(), 'hello over h2\n');
      const again = await h2get(session, '/cgi-bin/env.py');
      const env = envOf(again.body);
      assert.equal(env.SERVER_PROTOCOL, 'HTTP/2.0');
      assert.equal(env.REQUEST_SCHEME, 'http');
      assert.equal(env.HTTPS, undefined);
      assert.equal(env.HTTP_HOST, `127.0.0.1:${srv.port}`);
    } finally {
      session.close();
    }
    // A request split right inside the preface's first bytes is still HTTP/1.1.
    const h1again = await request(srv.port, '/dir/b.txt');
    assert.equal(h1again.body.toString(), 'b\n');
  });

  test('curl --http2-prior-knowledge and plain curl', { skip: curlSkip }, async () => {
    const url = `http://127.0.0.1:${srv.port}/a.txt`;
    // One URL per run: curl 7.88 fails reusing a prior-knowledge connection (exit 16), against node:http2's own h2c server too.
    const h2 = await run('curl', ['-s', '--http2-prior-knowledge', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', url], { timeout: 10000 });
    assert.equal(h2.stdout, '2 200');
    const h1 = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_version} %{http_code}', url], { timeout: 10000 });
    assert.equal(h1.stdout, '1.1 200');
    assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'hello over h2\n');
  });
});

describe('graceful shutdown with HTTP/2 sessions', () => {
  test('closeGracefully lets an in-flight stream finish and closes idle sessions', async () => {
    const dir = tempDir();
    siteTree(join(dir, 'site'));
    const { cert, key } = await makeCert(dir, 'server');
    const srv = await startAny({ root: join(dir, 'site'), tlsCert: cert, tlsKey: key, interpreters: { '.py': PYTHON } });
    const busy = h2session(`https://127.0.0.1:${srv.port}`);
    const idle = h2session(`https://127.0.0.1:${srv.port}`);
    try {
      assert.equal((await h2get(idle, '/a.txt')).status, 200);
      const idleClosed = new Promise((resolve) => idle.once('close', resolve));
      const stream = busy.request({ ':path': '/cgi-bin/stream.py' });
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      const streamed = new Promise((resolve) => stream.on('end', () => resolve({ body: Buffer.concat(chunks) })));
      await deadline(new Promise((resolve) => stream.once('response', resolve)), 10000, 'the script answering');
      const { closeGracefully } = await import('../dist/index.js');
      await deadline(closeGracefully(srv.server, 10000), 10000, 'graceful close');
      const got = await streamed;
      assert.equal(got.body.toString(), 'line 1\nline 2\nline 3\nline 4\nline 5\n');
      await deadline(idleClosed, 5000, 'idle session closed');
    } finally {
      busy.destroy();
      idle.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
