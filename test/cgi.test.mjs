// Black-box tests of CGI/1.1 (RFC 3875) and command routes (issue 4): real
// sockets, real python3 and sh scripts from test/fixtures/cgi-bin/, copied
// into a uniquely named temporary root so that /proc can tell their
// processes apart from anyone else's.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, symlinkSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startServer,
  startCli,
  request,
  rawRequest,
  parseRawResponse,
  sendAfterAnswer,
  tempDir,
  writeTree,
  deadline,
  waitFor,
  pidsMatching,
  zombieChildren,
  rmSync,
  PYTHON,
  FIXTURES,
  ROOT_DIR,
} from './helpers.mjs';

// Set before any server starts: the environment allow-list must keep these out
// of (or, for LC_*, let them into) every script's environment.
const SECRET = `sekrit-${randomBytes(8).toString('hex')}`;
process.env.SCRIPTSERVE_SECRET_TEST = SECRET;
process.env.LC_SCRIPTSERVE_TEST = 'lc-allowed';

const VERSION = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')).version;
const ENV_SOURCE_MARKER = 'SOURCE-MARKER-env-py-5b1d';
const PLAIN_SOURCE_MARKER = 'SOURCE-MARKER-plain-py-3c9e';
const HELLO = 'Hello from the static root.\n';

/** A temp root: the fixtures under cgi-bin/ (modes kept), a copy in htbin/, hello.txt, and per-test copies of sleep.sh. */
function makeRoot() {
  const root = realpathSync(tempDir('scriptserve-cgi-test-'));
  cpSync(join(FIXTURES, 'cgi-bin'), join(root, 'cgi-bin'), { recursive: true });
  copyFileSync(join(root, 'cgi-bin', 'echo.py'), join(root, 'cgi-bin', 'echo-abort.py'));
  for (const name of ['sleep-timeout.sh', 'sleep-disconnect.sh', 'sleep-pool.sh']) {
    copyFileSync(join(root, 'cgi-bin', 'sleep.sh'), join(root, 'cgi-bin', name));
  }
  for (const name of ['record-413.sh', 'record-chunked-413.sh', 'record-nocgi.sh', 'record-pipelined.sh']) {
    copyFileSync(join(root, 'cgi-bin', 'record.sh'), join(root, 'cgi-bin', name));
  }
  writeTree(root, {
    'hello.txt': HELLO,
    'cgi-bin/subdir/inner-file-name.txt': 'inside a directory of cgi-bin\n',
    'htbin/env.py': { content: readFileSync(join(FIXTURES, 'cgi-bin', 'env.py')), mode: 0o755 },
  });
  // A symlink in cgi-bin to a program outside it, and one outside cgi-bin to a script in it.
  symlinkSync('/bin/sh', join(root, 'cgi-bin', 'sh'));
  symlinkSync(join(root, 'cgi-bin', 'env.py'), join(root, 'env-link.py'));
  return root;
}

/** `KEY=value` lines → object. */
function parseEnv(text) {
  const env = {};
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** Decode a complete chunked body at `buf`; null when incomplete. */
function decodeChunked(buf) {
  const parts = [];
  let pos = 0;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', pos);
    if (lineEnd < 0) return null;
    const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
    assert.ok(Number.isFinite(size), 'bad chunk size line');
    pos = lineEnd + 2;
    if (size === 0) {
      // No trailers from this server: the last chunk is followed by CRLF.
      if (buf.length < pos + 2) return null;
      return { body: Buffer.concat(parts), consumed: pos + 2 };
    }
    if (buf.length < pos + size + 2) return null;
    parts.push(buf.subarray(pos, pos + size));
    pos += size + 2;
  }
}

/** A raw keep-alive connection that reads one framed response at a time. */
class Conn {
  static open(port) {
    return deadline(new Promise((resolve, reject) => {
      const conn = new Conn(connect(port, '127.0.0.1'));
      conn.socket.once('connect', () => resolve(conn));
      conn.socket.once('error', reject);
    }), 5000, 'connect');
  }

  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.closed = false;
    this.notify = () => {};
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => {});
  }

  get localPort() {
    return this.socket.localPort;
  }

  write(data) {
    this.socket.write(data);
  }

  /** Wait until `take(buf, closed)` returns non-null; it returns [value, bytesConsumed]. */
  until(take, ms = 10000, what = 'response') {
    return deadline(new Promise((resolve, reject) => {
      const check = () => {
        let out;
        try {
          out = take(this.buf, this.closed);
        } catch (err) {
          this.notify = () => {};
          reject(err);
          return;
        }
        if (out) {
          this.notify = () => {};
          this.buf = this.buf.subarray(out[1]);
          resolve(out[0]);
        } else if (this.closed) {
          this.notify = () => {};
          reject(new Error(`connection closed before the ${what} was complete`));
        }
      };
      this.notify = check;
      check();
    }), ms, what);
  }

  /** The next response head: { status, statusLine, headers (lower-case → array), head }. */
  readHead(ms) {
    return this.until((buf) => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const head = buf.subarray(0, end + 4).toString('latin1');
      const parsed = parseRawResponse(head);
      return [{ ...parsed, head }, end + 4];
    }, ms, 'response head');
  }

  /** The next complete response; `head: true` for a HEAD request. 1xx heads are returned as they are. */
  async readResponse({ head = false, ms = 10000 } = {}) {
    const res = await this.readHead(ms);
    if (head || res.status < 200 || res.status === 204 || res.status === 304) return { ...res, body: Buffer.alloc(0) };
    const te = res.headers['transfer-encoding']?.join(',') ?? '';
    if (/chunked/i.test(te)) {
      res.body = await this.until((buf) => {
        const out = decodeChunked(buf);
        return out ? [out.body, out.consumed] : null;
      }, ms, 'chunked body');
    } else if (res.headers['content-length']) {
      const n = Number(res.headers['content-length'][0]);
      res.body = await this.until((buf) => (buf.length >= n ? [buf.subarray(0, n), n] : null), ms, 'body');
    } else {
      res.body = await this.until((buf, closed) => (closed ? [buf, buf.length] : null), ms, 'close-delimited body');
    }
    return res;
  }

  /**
   * After a chunked head: resolves 'complete' when a terminated chunked body
   * arrived, 'closed' when the server closed the connection first.
   */
  chunkedOutcome(ms = 5000) {
    return this.until((buf, closed) => {
      if (decodeChunked(buf)) return ['complete', 0];
      return closed ? ['closed', 0] : null;
    }, ms, 'chunked body or close');
  }

  /** Resolves when the server has closed the connection. */
  waitClosed(ms = 5000) {
    return this.until((buf, closed) => (closed ? [true, 0] : null), ms, 'connection close').catch((err) => {
      if (this.closed) return true;
      throw err;
    });
  }

  destroy() {
    this.socket.destroy();
  }
}

/** The connection is still in step after an answer: the next request on it gets the static file. */
async function assertStillServes(conn) {
  conn.write('GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  const next = await conn.readResponse();
  assert.equal(next.status, 200);
  assert.equal(next.body.toString(), HELLO);
}

function rawGet(port, path, { method = 'GET', headers = '' } = {}) {
  return rawRequest(port, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}Connection: close\r\n\r\n`);
}

/** POST `body` with Content-Length via node:http. */
function post(port, path, body, headers = {}) {
  return request(port, path, { method: 'POST', body, headers: { 'Content-Length': body.length, ...headers } });
}

/** Send a body with Transfer-Encoding: chunked (no Content-Length) in `pieces`. */
function postChunked(port, path, pieces, timeout = 20000) {
  return deadline(new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'Transfer-Encoding': 'chunked' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    (async () => {
      for (const piece of pieces) {
        if (!req.write(piece)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  }), timeout, `chunked POST ${path}`);
}

function openFds() {
  return readdirSync('/proc/self/fd').length;
}

/** What each open descriptor points at (for a readable failure message). */
function describeFds() {
  const out = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(`${fd}:${readlinkSync(`/proc/self/fd/${fd}`)}`);
    } catch {
      /* closed meanwhile */
    }
  }
  return out.join(' ');
}

/** The server's spool directories for chunked bodies (mkdtemp `scriptserve-XXXXXX`). */
function spoolDirs() {
  return readdirSync(tmpdir()).filter((n) => /^scriptserve-[A-Za-z0-9]{6}$/.test(n));
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}


/** GET a path and record when each chunk of the body arrives (for the streaming checks). */
function timedGet(port, path) {
  const started = performance.now();
  const arrivals = [];
  const chunks = [];
  return deadline(new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.on('data', (c) => {
        arrivals.push(performance.now() - started);
        chunks.push(c.toString());
      });
      res.on('end', () => resolve({ status: res.statusCode, chunks, arrivals, total: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  }), 15000, path);
}

describe('CGI scripts', () => {
  let root;
  let srv;

  before(async () => {
    root = makeRoot();
    srv = await startServer({ root });
  });

  after(async () => {
    await srv?.close();
    if (root) {
      for (const pid of await pidsMatching(root)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      rmSync(root, { recursive: true, force: true });
    }
  });

  describe('environment', () => {
    test('every RFC 3875 meta-variable and the common extras, checked against a table', async () => {
      const conn = await Conn.open(srv.port);
      try {
        conn.write(
          'POST /cgi-bin/env.py/extra/path?a=1&b=%20x HTTP/1.1\r\n' +
            // localhost passes any Host policy; the port differs from the real one on purpose.
            'Host: localhost:8080\r\n' +
            'Content-Type: application/x-www-form-urlencoded\r\n' +
            'Content-Length: 5\r\n' +
            '\r\n' +
            'hello',
        );
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        const env = parseEnv(res.body.toString('utf8'));
        const expected = {
          GATEWAY_INTERFACE: 'CGI/1.1',
          SERVER_PROTOCOL: 'HTTP/1.1',
          SERVER_SOFTWARE: `scriptserve/${VERSION}`,
          SERVER_NAME: 'localhost',
          SERVER_PORT: String(srv.port),
          REQUEST_METHOD: 'POST',
          REQUEST_URI: '/cgi-bin/env.py/extra/path?a=1&b=%20x',
          QUERY_STRING: 'a=1&b=%20x',
          SCRIPT_NAME: '/cgi-bin/env.py',
          SCRIPT_FILENAME: join(root, 'cgi-bin', 'env.py'),
          PATH_INFO: '/extra/path',
          PATH_TRANSLATED: root + '/extra/path',
          DOCUMENT_ROOT: root,
          REMOTE_ADDR: '127.0.0.1',
          REMOTE_HOST: '127.0.0.1',
          REMOTE_PORT: String(conn.localPort),
          CONTENT_LENGTH: '5',
          CONTENT_TYPE: 'application/x-www-form-urlencoded',
          REDIRECT_STATUS: '200',
          REQUEST_SCHEME: 'http',
          HTTP_HOST: 'localhost:8080',
          PATH: process.env.PATH,
          CWD: join(root, 'cgi-bin'),
          BODY_LEN: '5',
        };
        for (const [key, value] of Object.entries(expected)) assert.equal(env[key], value, key);
        // No authentication: AUTH_TYPE is NULL (RFC 3875 4.1.1), REMOTE_USER unset; no TLS, no HTTPS.
        assert.equal(env.AUTH_TYPE ?? '', '');
        assert.ok(!('REMOTE_USER' in env), 'REMOTE_USER without authentication');
        assert.ok(!('HTTPS' in env), 'HTTPS on a plain connection');
      } finally {
        conn.destroy();
      }
    });

    test('the environment holds nothing but meta-variables, HTTP_* and the allow-list', async () => {
      const res = await request(srv.port, '/cgi-bin/env.py');
      const env = parseEnv(res.body.toString('utf8'));
      const meta = new Set([
        'AUTH_TYPE', 'CONTENT_LENGTH', 'CONTENT_TYPE', 'GATEWAY_INTERFACE', 'PATH_INFO', 'PATH_TRANSLATED',
        'QUERY_STRING', 'REMOTE_ADDR', 'REMOTE_HOST', 'REMOTE_USER', 'REQUEST_METHOD', 'SCRIPT_NAME',
        'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL', 'SERVER_SOFTWARE', 'REQUEST_URI', 'SCRIPT_FILENAME',
        'DOCUMENT_ROOT', 'REMOTE_PORT', 'HTTPS', 'REQUEST_SCHEME', 'REDIRECT_STATUS', 'PATH', 'LANG', 'TZ', 'CWD', 'BODY_LEN',
      ]);
      const stray = Object.keys(env).filter((k) => !meta.has(k) && !k.startsWith('HTTP_') && !k.startsWith('LC_'));
      assert.deepEqual(stray, []);
      assert.equal(env.GATEWAY_INTERFACE, 'CGI/1.1');
      assert.equal(env.SERVER_NAME, '127.0.0.1');
      assert.equal(env.REQUEST_METHOD, 'GET');
      assert.equal(env.REQUEST_SCHEME, 'http');
      assert.equal(env.QUERY_STRING, '');
      assert.ok(!('CONTENT_LENGTH' in env), 'CONTENT_LENGTH for a request without a body');
      assert.equal(env.BODY_LEN, '0');
    });

    test('a secret in the server environment never reaches a script; LC_* and PATH do', async () => {
      const res = await request(srv.port, '/cgi-bin/env.py', { headers: { 'X-Probe': 'yes' } });
      const text = res.body.toString('utf8');
      const env = parseEnv(text);
      assert.equal(env.HTTP_X_PROBE, 'yes');
      assert.ok(!('SCRIPTSERVE_SECRET_TEST' in env));
      assert.ok(!text.includes(SECRET), 'the secret value leaked into the script environment');
      assert.equal(env.LC_SCRIPTSERVE_TEST, 'lc-allowed');
      assert.ok(env.PATH && env.PATH.length > 0);
    });

    test('SERVER_PROTOCOL is the request version: HTTP/1.0 (close-delimited answer)', async () => {
      const reply = await rawRequest(srv.port, 'GET /cgi-bin/env.py HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n');
      const res = parseRawResponse(reply);
      assert.equal(res.status, 200);
      assert.ok(!res.headers['transfer-encoding'], 'no chunked framing for an HTTP/1.0 client');
      const env = parseEnv(res.body);
      assert.equal(env.SERVER_PROTOCOL, 'HTTP/1.0');
      assert.equal(env.GATEWAY_INTERFACE, 'CGI/1.1');
    });

    test('request headers become HTTP_*: repeats joined ", ", Cookie joined "; ", body headers not duplicated', async () => {
      const conn = await Conn.open(srv.port);
      try {
        conn.write(
          'POST /cgi-bin/env.py HTTP/1.1\r\n' +
            'Host: 127.0.0.1\r\n' +
            'X-Custom-Thing: abc def\r\n' +
            'X-Multi: one\r\n' +
            'X-Multi: two\r\n' +
            'Cookie: a=1\r\n' +
            'Cookie: b=2\r\n' +
            'Content-Type: text/plain\r\n' +
            'Content-Length: 3\r\n' +
            '\r\n' +
            'abc',
        );
        const env = parseEnv((await conn.readResponse()).body.toString('utf8'));
        assert.equal(env.HTTP_X_CUSTOM_THING, 'abc def');
        assert.equal(env.HTTP_X_MULTI, 'one, two');
        assert.equal(env.HTTP_COOKIE, 'a=1; b=2');
        assert.equal(env.CONTENT_TYPE, 'text/plain');
        assert.equal(env.CONTENT_LENGTH, '3');
        assert.ok(!('HTTP_CONTENT_LENGTH' in env));
        assert.ok(!('HTTP_CONTENT_TYPE' in env));
      } finally {
        conn.destroy();
      }
    });

    test('Proxy never becomes HTTP_PROXY; Authorization withheld by default; Remote-Addr cannot set REMOTE_ADDR', async () => {
      const res = await request(srv.port, '/cgi-bin/env.py', {
        headers: {
          Proxy: 'http://evil.example:3128',
          Authorization: 'Basic dXNlcjpzZWNyZXQ=',
          'Proxy-Authorization': 'Basic cHJveHk6cHc=',
          'Remote-Addr': '6.6.6.6',
        },
      });
      assert.equal(res.status, 200);
      const text = res.body.toString('utf8');
      const env = parseEnv(text);
      assert.ok(!('HTTP_PROXY' in env), 'httpoxy: HTTP_PROXY set from a request header');
      assert.ok(!text.includes('evil.example'));
      assert.ok(!('HTTP_AUTHORIZATION' in env));
      assert.ok(!text.includes('dXNlcjpzZWNyZXQ='));
      assert.ok(!text.includes('cHJveHk6cHc='), 'Proxy-Authorization credentials passed to the script');
      assert.equal(env.HTTP_REMOTE_ADDR, '6.6.6.6');
      assert.equal(env.REMOTE_ADDR, '127.0.0.1');
    });

    test('passEnv passes the named variable; passAuthorization passes HTTP_AUTHORIZATION', async () => {
      const other = await startServer({ root, passEnv: ['SCRIPTSERVE_SECRET_TEST'], passAuthorization: true });
      try {
        const res = await request(other.port, '/cgi-bin/env.py', { headers: { Authorization: 'Basic dXNlcjpzZWNyZXQ=' } });
        const env = parseEnv(res.body.toString('utf8'));
        assert.equal(env.SCRIPTSERVE_SECRET_TEST, SECRET);
        assert.equal(env.HTTP_AUTHORIZATION, 'Basic dXNlcjpzZWNyZXQ=');
      } finally {
        await other.close();
      }
    });

    test('an authenticated request sets REMOTE_USER and AUTH_TYPE; the credentials stay withheld', async () => {
      const other = await startServer({ root, auth: ['alice:wonder-land'] });
      try {
        const denied = await request(other.port, '/cgi-bin/env.py');
        assert.equal(denied.status, 401);
        assert.ok(!denied.body.toString().includes('GATEWAY_INTERFACE'), 'script ran without credentials');
        const token = Buffer.from('alice:wonder-land').toString('base64');
        const res = await request(other.port, '/cgi-bin/env.py', { headers: { Authorization: `Basic ${token}` } });
        assert.equal(res.status, 200);
        const text = res.body.toString();
        const env = parseEnv(text);
        assert.equal(env.REMOTE_USER, 'alice');
        assert.equal(env.AUTH_TYPE, 'Basic');
        assert.ok(!('HTTP_AUTHORIZATION' in env));
        assert.ok(!text.includes(token));
      } finally {
        await other.close();
      }
    });

    test('PATH_INFO is decoded, QUERY_STRING raw; PATH_TRANSLATED maps PATH_INFO onto the root', async () => {
      const res = await request(srv.port, '/cgi-bin/env.py/extra%20dir/p%C3%A4th?x=1&y=%2F+z');
      assert.equal(res.status, 200);
      const env = parseEnv(res.body.toString('utf8'));
      assert.equal(env.SCRIPT_NAME, '/cgi-bin/env.py');
      assert.equal(env.PATH_INFO, '/extra dir/päth');
      assert.equal(env.PATH_TRANSLATED, root + '/extra dir/päth');
      assert.equal(env.QUERY_STRING, 'x=1&y=%2F+z');
      assert.equal(env.REQUEST_URI, '/cgi-bin/env.py/extra%20dir/p%C3%A4th?x=1&y=%2F+z');
    });

    test('/htbin/ is a script directory too', async () => {
      const res = await request(srv.port, '/htbin/env.py/x?q=1');
      assert.equal(res.status, 200);
      const env = parseEnv(res.body.toString('utf8'));
      assert.equal(env.SCRIPT_NAME, '/htbin/env.py');
      assert.equal(env.PATH_INFO, '/x');
      assert.equal(env.CWD, join(root, 'htbin'));
      assert.ok(!res.body.toString('latin1').includes(ENV_SOURCE_MARKER));
    });

    test('a query string is never passed as argv', async () => {
      for (const query of ['-h', 'foo', 'foo+bar', '--version%20x']) {
        const res = await request(srv.port, `/cgi-bin/argv.py?${query}`);
        assert.equal(res.status, 200, query);
        assert.deepEqual(JSON.parse(res.body.toString('utf8')), [join(root, 'cgi-bin', 'argv.py')], query);
      }
    });
  });

  describe('request body', () => {
    test('binary-safe echo: 0 bytes, all 256 byte values, 1 MiB random (python), and 256 bytes (sh)', async () => {
      const empty = await post(srv.port, '/cgi-bin/echo.py', Buffer.alloc(0));
      assert.equal(empty.status, 200);
      assert.equal(empty.headers['x-content-length'], '0');
      assert.equal(empty.body.length, 0);

      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const res256 = await post(srv.port, '/cgi-bin/echo.py', all);
      assert.equal(res256.status, 200);
      assert.ok(res256.body.equals(all), 'all 256 byte values');

      const big = randomBytes(1024 * 1024);
      const resBig = await post(srv.port, '/cgi-bin/echo.py', big);
      assert.equal(resBig.status, 200);
      assert.equal(resBig.headers['x-content-length'], String(big.length));
      assert.ok(resBig.body.equals(big), '1 MiB random');

      const resSh = await post(srv.port, '/cgi-bin/echo.sh', all);
      assert.equal(resSh.status, 200);
      assert.ok(resSh.body.equals(all), 'sh echo of 256 byte values');
    });

    test('200 MiB echoed through a script with the server RSS staying flat', { timeout: 90000 }, async (t) => {
      // The default body limit is 100 MiB; this body is twice that.
      const cli = await startCli(['--port', '0', '-q', '--max-body', '256M', '-d', root]);
      try {
        const pid = cli.child.pid;
        // Warm up (JIT, buffers), then take the baseline.
        const warm = randomBytes(1024 * 1024);
        const w = await post(cli.port, '/cgi-bin/echo.py', warm);
        assert.ok(w.body.equals(warm));
        const baseline = rssKiB(pid);
        let peak = baseline;
        const sampler = setInterval(() => {
          try {
            peak = Math.max(peak, rssKiB(pid));
          } catch {
            /* exited */
          }
        }, 20);

        const CHUNK = 1024 * 1024;
        const COUNT = 200;
        const base = randomBytes(CHUNK);
        const sentHash = createHash('sha256');
        const gotHash = createHash('sha256');
        let received = 0;
        try {
          await deadline(new Promise((resolve, reject) => {
            const req = httpRequest(
              { host: '127.0.0.1', port: cli.port, path: '/cgi-bin/echo.py', method: 'POST', agent: false, headers: { 'Content-Length': CHUNK * COUNT } },
              (res) => {
                if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
                res.on('data', (c) => {
                  received += c.length;
                  gotHash.update(c);
                });
                res.on('end', resolve);
                res.on('error', reject);
              },
            );
            req.on('error', reject);
            (async () => {
              for (let i = 0; i < COUNT; i++) {
                const chunk = Buffer.from(base);
                chunk.writeUInt32BE(i, 0);
                sentHash.update(chunk);
                if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
              }
              req.end();
            })().catch(reject);
          }), 80000, '200 MiB echo');
        } finally {
          clearInterval(sampler);
        }
        peak = Math.max(peak, rssKiB(pid));
        const growthMiB = (peak - baseline) / 1024;
        t.diagnostic(`server RSS baseline ${(baseline / 1024).toFixed(1)} MiB, peak ${(peak / 1024).toFixed(1)} MiB, growth ${growthMiB.toFixed(1)} MiB`);
        assert.equal(received, CHUNK * COUNT);
        assert.equal(gotHash.digest('hex'), sentHash.digest('hex'));
        assert.ok(growthMiB < 100, `server RSS grew by ${growthMiB.toFixed(1)} MiB while echoing 200 MiB`);
      } finally {
        await cli.stop();
      }
    });

    test('a chunked request body is echoed with CONTENT_LENGTH set', async () => {
      const pieces = [randomBytes(1000), randomBytes(1), randomBytes(7000)];
      const whole = Buffer.concat(pieces);
      const res = await postChunked(srv.port, '/cgi-bin/echo.py', pieces);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-content-length'], String(whole.length));
      assert.ok(res.body.equals(whole));
    });

    test('a chunked request body over 1 MiB (spooled to a file) is echoed with CONTENT_LENGTH set', async () => {
      const pieces = Array.from({ length: 24 }, () => randomBytes(64 * 1024 + 17));
      const whole = Buffer.concat(pieces);
      assert.ok(whole.length > 1024 * 1024);
      const before = new Set(spoolDirs());
      const res = await postChunked(srv.port, '/cgi-bin/echo.py', pieces);
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-content-length'], String(whole.length));
      assert.ok(res.body.equals(whole));
      assert.ok(await waitFor(() => spoolDirs().every((d) => before.has(d)), 5000), 'spool file left behind');
    });

    test('a raw chunked body (rawRequest) reaches the script with CONTENT_LENGTH', async () => {
      const reply = await rawRequest(
        srv.port,
        'POST /cgi-bin/env.py HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
          '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
      );
      const res = parseRawResponse(reply);
      assert.equal(res.status, 200);
      const env = parseEnv(decodeChunked(Buffer.from(res.body, 'latin1')).body.toString('utf8'));
      assert.equal(env.CONTENT_LENGTH, '11');
      assert.equal(env.BODY_LEN, '11');
      assert.ok(!('HTTP_TRANSFER_ENCODING' in env));
    });

    test('Expect: 100-continue gets 100 Continue before the final answer', async () => {
      const conn = await Conn.open(srv.port);
      try {
        conn.write('POST /cgi-bin/echo.py HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n');
        const interim = await conn.readHead(5000);
        assert.equal(interim.status, 100);
        conn.write('hello world');
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'hello world');

        conn.write('POST /cgi-bin/echo.py HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n');
        const interim2 = await conn.readHead(5000);
        assert.equal(interim2.status, 100, 'no 100 Continue for a chunked body');
        conn.write('3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
        const res2 = await conn.readResponse();
        assert.equal(res2.status, 200);
        assert.deepEqual(res2.headers['x-content-length'], ['5']);
        assert.equal(res2.body.toString(), 'abcde');
      } finally {
        conn.destroy();
      }
    });

    test('a script that never reads stdin still answers, and the connection stays usable', async () => {
      const conn = await Conn.open(srv.port);
      try {
        const body = randomBytes(1024 * 1024);
        conn.write(`POST /cgi-bin/noread.py HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n`);
        conn.write(body);
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'noread ok\n');
        await assertStillServes(conn);
      } finally {
        conn.destroy();
      }
    });

    test('20 parallel POSTs each get their own body back', async () => {
      const bodies = Array.from({ length: 20 }, (_, i) => Buffer.concat([Buffer.from(`request ${i}:`), randomBytes(20000 + i * 997)]));
      const results = await Promise.all(bodies.map((b) => post(srv.port, '/cgi-bin/echo.py', b)));
      results.forEach((res, i) => {
        assert.equal(res.status, 200, `request ${i}`);
        assert.ok(res.body.equals(bodies[i]), `request ${i} got someone else's body`);
      });
    });
  });

  describe('script output', () => {
    test('Status header sets the status line', async () => {
      const res = parseRawResponse(await rawGet(srv.port, '/cgi-bin/status.py'));
      assert.equal(res.statusLine, 'HTTP/1.1 201 Created');
      assert.deepEqual(res.headers['x-script'], ['status']);
      assert.ok(!res.headers.status, 'the Status header itself is not passed on');
      assert.ok(res.body.includes('created\n'));
    });

    test('Location with an absolute URL is a 302 client redirect', async () => {
      const res = await request(srv.port, '/cgi-bin/redirect_client.py');
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, 'http://example.com/elsewhere?from=cgi');
    });

    test('Location with a local path is a local redirect: the file is served', async () => {
      const res = await request(srv.port, '/cgi-bin/redirect_local.py');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), HELLO);
      assert.match(res.headers['content-type'], /^text\/plain/);
      assert.ok(!res.headers.location, 'a local redirect is not shown to the client');
    });

    test('a local redirect answered with HEAD has the file headers and no body', async () => {
      const reply = await rawGet(srv.port, '/cgi-bin/redirect_local.py', { method: 'HEAD' });
      const res = parseRawResponse(reply);
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers['content-length'], [String(Buffer.byteLength(HELLO))]);
      assert.equal(res.body, '');
    });

    test('a local redirect to a script runs that script with GET (RFC 3875 6.2.2)', async () => {
      const res = await post(srv.port, '/cgi-bin/redirect_script.py', Buffer.from('ignored'));
      assert.equal(res.status, 200);
      const env = parseEnv(res.body.toString());
      assert.equal(env.REQUEST_METHOD, 'GET');
      assert.equal(env.SCRIPT_NAME, '/cgi-bin/env.py');
      assert.equal(env.PATH_INFO, '/via');
      assert.equal(env.QUERY_STRING, 'from=redirect');
      assert.equal(env.REQUEST_URI, '/cgi-bin/env.py/via?from=redirect');
      assert.ok(!('CONTENT_LENGTH' in env), 'the original body was passed to the redirect target');
      assert.equal(env.BODY_LEN, '0');
    });

    test('a script that redirects locally to itself gets a bounded error, not a loop', async () => {
      const res = await request(srv.port, '/cgi-bin/redirect_loop.py', { timeout: 10000 });
      assert.equal(res.status, 502);
    });

    test('output beyond the declared Content-Length is cut and the connection stays in step', async () => {
      const conn = await Conn.open(srv.port);
      try {
        conn.write('GET /cgi-bin/overlong.sh HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        const res = await conn.readResponse();
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'hello');
        await assertStillServes(conn);
      } finally {
        conn.destroy();
      }
    });

    test('a header block that arrives one byte at a time is parsed', async () => {
      const res = await request(srv.port, '/cgi-bin/slowhead.py');
      assert.equal(res.status, 200);
      assert.equal(res.headers['x-slow'], 'yes');
      assert.equal(res.body.toString(), 'slow body\n');
    });

    test('framing: Content-Length when the script sets it, else chunked for HTTP/1.1', async () => {
      const conn = await Conn.open(srv.port);
      try {
        conn.write('POST /cgi-bin/echo.py HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc');
        const sized = await conn.readResponse();
        assert.deepEqual(sized.headers['content-length'], ['3']);
        assert.ok(!sized.headers['transfer-encoding']);
        conn.write('GET /cgi-bin/stream.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        const streamed = await conn.readResponse();
        assert.deepEqual(streamed.headers['transfer-encoding'], ['chunked']);
        assert.ok(!streamed.headers['content-length']);
      } finally {
        conn.destroy();
      }
    });

    test('NPH script output is passed through untouched', async () => {
      const reply = await rawGet(srv.port, '/cgi-bin/nph-raw.py');
      assert.equal(reply, 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Nph: raw\r\nContent-Length: 12\r\n\r\nnph body ok\n');
    });

    test('custom headers pass through and two Set-Cookie stay separate', async () => {
      const res = await request(srv.port, '/cgi-bin/cookies.py');
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers['set-cookie'], ['first=1; Path=/', 'second=2; HttpOnly']);
      assert.equal(res.headers['x-custom'], 'custom-value');
      const setCookieLines = res.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === 'set-cookie');
      assert.equal(setCookieLines.length, 2);
      assert.equal(res.body.toString(), 'cookies set\n');
    });

    for (const [path, what] of [
      ['/cgi-bin/noheaders.sh', 'a body with no header block'],
      ['/cgi-bin/noheaders.sh?eof', 'output that ends before any blank line'],
      ['/cgi-bin/notype.sh', 'no Content-Type'],
      ['/cgi-bin/badheader.sh?name', 'an invalid header name'],
      ['/cgi-bin/badheader.sh?cr', 'a CR inside a header value'],
      ['/cgi-bin/badheader.sh?nul', 'a NUL inside a header value'],
      ['/cgi-bin/hugeheader.sh', 'a header block over 64 KiB'],
    ]) {
      test(`malformed output (${what}) gives 502, never a partial response`, async () => {
        const reply = await rawGet(srv.port, path);
        const res = parseRawResponse(reply);
        assert.equal(res.status, 502);
        assert.match(res.headers['content-type']?.[0] ?? '', /^text\/html/);
        assert.ok(!reply.includes('leaked'), 'a header of the bad script reached the client');
        assert.ok(!/^injected:/im.test(reply), 'an injected header reached the client');
        assert.ok(!reply.includes('body after'), 'the bad script body reached the client');
        assert.ok(!reply.includes('Hello, this is just a body'));
        assert.ok(!reply.includes('no header block at all'));
        assert.ok(res.body.includes('502'));
        const scriptPath = path.split('?')[0];
        assert.ok(
          await waitFor(() => srv.logs.some((l) => l.includes(scriptPath) && / 502 /.test(l))),
          `no log line names ${scriptPath} with 502`,
        );
      });
    }

    test('a script that exits 1 before its headers gives 500, its stderr not sent', async () => {
      const res = await request(srv.port, '/cgi-bin/fail.sh');
      assert.equal(res.status, 500);
      assert.ok(!res.body.toString().includes('failing before its headers'));
    });

    test('a script that dies after its headers ends the response', async () => {
      const res = await request(srv.port, '/cgi-bin/dies.sh');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'partial body\n');
    });

    test('a script that dies short of its declared Content-Length: the connection is closed', async () => {
      const conn = await Conn.open(srv.port);
      try {
        conn.write('GET /cgi-bin/dies.sh?length HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        const head = await conn.readHead();
        assert.equal(head.status, 200);
        assert.deepEqual(head.headers['content-length'], ['1000']);
        await conn.waitClosed(5000);
        assert.equal(conn.buf.toString(), 'partial body\n');
      } finally {
        conn.destroy();
      }
    });

    test('HEAD to a script: headers and no body', async () => {
      for (const path of ['/cgi-bin/env.py', '/cgi-bin/status.py', '/cgi-bin/cookies.py']) {
        const reply = await rawGet(srv.port, path, { method: 'HEAD' });
        const end = reply.indexOf('\r\n\r\n');
        assert.ok(end > 0, `${path}: no header block`);
        assert.equal(reply.slice(end + 4), '', `${path}: HEAD answer carries a body`);
        const res = parseRawResponse(reply);
        assert.ok(res.status === 200 || res.status === 201, `${path}: ${res.status}`);
        assert.match(res.headers['content-type']?.[0] ?? '', /^text\/plain/);
      }
    });

    test('stderr never reaches the client but is logged with the script path', async () => {
      const reply = await rawGet(srv.port, '/cgi-bin/stderr.py');
      const res = parseRawResponse(reply);
      assert.equal(res.status, 200);
      assert.ok(res.body.includes('stderr script ok\n'));
      assert.ok(!reply.includes('STDERR-MARKER'), 'stderr reached the client');
      assert.ok(
        await waitFor(() => srv.logs.some((l) => l.includes('/cgi-bin/stderr.py: STDERR-MARKER-9f2c line 0 '))),
        'stderr line not logged with the script path',
      );
      // Bounded: 280 KB of stderr does not all go to the log.
      assert.ok(await waitFor(() => srv.logs.some((l) => l.includes('/cgi-bin/stderr.py: [stderr truncated'))), 'no truncation note');
      assert.ok(!srv.logs.some((l) => l.includes('STDERR-MARKER-9f2c line 4095 ')), 'stderr logged without a bound');
    });

    test('output is streamed: the first line arrives before the script ends', async () => {
      const { status, chunks, arrivals, total } = await timedGet(srv.port, '/cgi-bin/stream.py');
      assert.equal(status, 200);
      assert.equal(chunks.join(''), 'line 1\nline 2\nline 3\nline 4\nline 5\n');
      assert.ok(chunks[0].startsWith('line 1\n') && !chunks[0].includes('line 5'), 'first chunk held everything');
      assert.ok(arrivals[0] < total - 600, `first chunk at ${arrivals[0].toFixed(0)} ms of ${total.toFixed(0)} ms`);
    });

    test('keep-alive across script and static responses on one connection', async () => {
      const conn = await Conn.open(srv.port);
      try {
        const steps = [
          ['GET /cgi-bin/env.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', (r) => assert.equal(parseEnv(r.body.toString()).REQUEST_METHOD, 'GET')],
          ['GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', (r) => assert.equal(r.body.toString(), HELLO)],
          ['POST /cgi-bin/echo.py HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n\r\nping', (r) => assert.equal(r.body.toString(), 'ping')],
          ['HEAD /cgi-bin/env.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', (r) => assert.equal(r.status, 200), true],
          ['GET /cgi-bin/status.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', (r) => assert.equal(r.status, 201)],
          ['GET /cgi-bin/redirect_local.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', (r) => assert.equal(r.body.toString(), HELLO)],
          ['GET /cgi-bin/stream.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', (r) => assert.match(r.body.toString(), /line 5\n$/)],
          ['GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', (r) => assert.equal(r.body.toString(), HELLO)],
        ];
        for (const [raw, check, head] of steps) {
          conn.write(raw);
          const res = await conn.readResponse({ head: Boolean(head) });
          assert.ok(res.status < 300, `${raw.split('\r\n')[0]}: ${res.status}`);
          check(res);
          assert.ok(!conn.closed, `connection closed after ${raw.split('\r\n')[0]}`);
        }
        assert.equal(conn.buf.length, 0, 'stray bytes after the last response');
      } finally {
        conn.destroy();
      }
    });
  });

  describe('processes and limits', () => {
    test('timeout: 504 and no process of the script remains', async () => {
      const other = await startServer({ root, scriptTimeout: 1 });
      const marker = join(root, 'cgi-bin', 'sleep-timeout.sh');
      try {
        const pending = request(other.port, '/cgi-bin/sleep-timeout.sh', { timeout: 10000 });
        const seen = await waitFor(async () => (await pidsMatching(marker)).length >= 2, 5000);
        assert.ok(seen, 'the script and its child never showed up in /proc');
        const res = await pending;
        assert.equal(res.status, 504);
        assert.ok(await waitFor(async () => (await pidsMatching(marker)).length === 0, 5000), 'script processes survived the timeout');
      } finally {
        await other.close();
      }
    });

    test('timeout after the headers: the response is cut, not completed', async () => {
      const other = await startServer({ root, scriptTimeout: 1 });
      const conn = await Conn.open(other.port);
      try {
        conn.write('GET /cgi-bin/stream.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        const head = await conn.readHead();
        assert.equal(head.status, 200);
        assert.deepEqual(head.headers['transfer-encoding'], ['chunked']);
        assert.equal(await conn.chunkedOutcome(5000), 'closed', 'a timed-out response was framed as complete');
        assert.ok(conn.buf.toString().includes('line 1'));
      } finally {
        conn.destroy();
        await other.close();
      }
    });

    test('timeout: a script that ignores SIGTERM is killed after the grace period', async () => {
      const other = await startServer({ root, scriptTimeout: 1 });
      const marker = join(root, 'cgi-bin', 'stubborn.sh');
      try {
        const res = await request(other.port, '/cgi-bin/stubborn.sh', { timeout: 15000 });
        assert.equal(res.status, 504);
        assert.ok(await waitFor(async () => (await pidsMatching(marker)).length === 0, 8000), 'SIGTERM-ignoring script survived');
      } finally {
        await other.close();
      }
    });

    test('no zombie children and no leaked file descriptors after many script runs', async () => {
      await request(srv.port, '/cgi-bin/echo.sh');
      await new Promise((r) => setTimeout(r, 200));
      const baseline = openFds();
      const before = describeFds();
      const runs = [];
      for (let i = 0; i < 8; i++) runs.push(post(srv.port, '/cgi-bin/echo.py', randomBytes(5000)));
      for (const path of ['/cgi-bin/fail.sh', '/cgi-bin/notype.sh', '/cgi-bin/hugeheader.sh', '/cgi-bin/dies.sh', '/cgi-bin/fork.sh', '/cgi-bin/noread.py', '/cgi-bin/nph-raw.py', '/cgi-bin/redirect_local.py']) {
        runs.push(rawGet(srv.port, path));
      }
      runs.push(postChunked(srv.port, '/cgi-bin/echo.py', Array.from({ length: 20 }, () => randomBytes(64 * 1024))));
      await Promise.all(runs);
      const conn = await Conn.open(srv.port);
      conn.write('GET /cgi-bin/stream.py HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await conn.readHead();
      conn.destroy();
      assert.ok(await waitFor(() => zombieChildren().length === 0, 5000), `zombies: ${zombieChildren()}`);
      // Idle keep-alive sockets close within keepAliveTimeout (5 s); anything left after 10 s is a leak.
      const settled = await waitFor(() => openFds() <= baseline, 10000);
      assert.ok(settled, `file descriptors: ${baseline} before, ${openFds()} after\nbefore: ${before}\nafter: ${describeFds()}`);
    });

    test('a client that disconnects gets its script killed', async () => {
      const marker = join(root, 'cgi-bin', 'sleep-disconnect.sh');
      const conn = await Conn.open(srv.port);
      try {
        conn.write('GET /cgi-bin/sleep-disconnect.sh HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        assert.ok(await waitFor(async () => (await pidsMatching(marker)).length >= 2, 5000), 'script never started');
      } finally {
        conn.destroy();
      }
      assert.ok(await waitFor(async () => (await pidsMatching(marker)).length === 0, 5000), 'script outlived its client');
    });

    test('a client that leaves in the middle of its request body gets its script killed', async () => {
      const marker = join(root, 'cgi-bin', 'echo-abort.py');
      const conn = await Conn.open(srv.port);
      try {
        conn.write(`POST /cgi-bin/echo-abort.py HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`);
        conn.write(randomBytes(256 * 1024));
        assert.ok(await waitFor(async () => (await pidsMatching(marker)).length >= 1, 5000), 'script never started');
      } finally {
        conn.destroy();
      }
      assert.ok(await waitFor(async () => (await pidsMatching(marker)).length === 0, 5000), 'script outlived its client');
    });

    test('a background child holding stdout does not hold the response, and is gone after it', async () => {
      const marker = join(root, 'cgi-bin', 'fork.sh');
      const res = await request(srv.port, '/cgi-bin/fork.sh', { timeout: 5000 });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'parent done\n');
      assert.ok(await waitFor(async () => (await pidsMatching(marker)).length === 0, 5000), 'background child survived');
    });

    test('maxScripts: the excess beyond the queue gets 503 with Retry-After, and nothing hangs', async () => {
      const other = await startServer({ root, maxScripts: 1, maxQueue: 16 });
      const marker = join(root, 'cgi-bin', 'sleep-pool.sh');
      // maxScripts 1 → one running, a queue of 16, so 3 of 20 are refused at once.
      const conns = [];
      try {
        const answered = [];
        for (let i = 0; i < 20; i++) {
          const conn = await Conn.open(other.port);
          conns.push(conn);
          conn.write('GET /cgi-bin/sleep-pool.sh HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
          conn.readResponse({ ms: 8000 }).then((r) => answered.push(r), () => {});
        }
        assert.ok(await waitFor(() => answered.length >= 3, 5000), `only ${answered.length} answered`);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(answered.length, 3, 'more requests answered than exceed the queue');
        for (const res of answered) {
          assert.equal(res.status, 503);
          assert.ok(Number(res.headers['retry-after']?.[0]) > 0, 'Retry-After');
        }
        assert.ok((await pidsMatching(marker)).length >= 1, 'the one allowed script is running');
      } finally {
        for (const conn of conns) conn.destroy();
      }
      try {
        // Every slot and queue place is released when the clients leave.
        const res = await post(other.port, '/cgi-bin/echo.py', Buffer.from('after the storm'));
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'after the storm');
        assert.ok(await waitFor(async () => (await pidsMatching(marker)).length === 0, 5000), 'queued or running scripts left behind');
      } finally {
        await other.close();
      }
    });

    test('maxBody: 413 before the script runs, for Content-Length and for chunked bodies', async () => {
      const other = await startServer({ root, maxBody: 1000 });
      try {
        const ok = await post(other.port, '/cgi-bin/echo.py', Buffer.alloc(1000, 0x61));
        assert.equal(ok.status, 200, 'a body at the limit is accepted');
        assert.equal(ok.body.length, 1000);

        const reply = await rawRequest(
          other.port,
          `POST /cgi-bin/record-413.sh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000\r\n\r\n${'x'.repeat(2000)}`,
        );
        assert.equal(parseRawResponse(reply).status, 413);
        assert.ok(!existsSync(join(root, 'cgi-bin', 'record-413.sh.ran')), 'the script ran for a body over the limit');

        const expect = await rawRequest(
          other.port,
          'POST /cgi-bin/record-413.sh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000\r\nExpect: 100-continue\r\n\r\n',
        );
        assert.ok(!expect.includes('100 Continue'), 'invited an upload it will refuse');
        assert.equal(parseRawResponse(expect).status, 413);

        const chunked = await postChunked(other.port, '/cgi-bin/record-chunked-413.sh', [randomBytes(700), randomBytes(700), randomBytes(600)]).catch(
          (err) => ({ status: `error ${err.code ?? err.message}` }),
        );
        assert.equal(chunked.status, 413);
        assert.ok(!existsSync(join(root, 'cgi-bin', 'record-chunked-413.sh.ran')), 'the script ran for a chunked body over the limit');
      } finally {
        await other.close();
      }
    });
    test('maxBody: a client still sending its body reads the 413 and is not reset: the rest is read and dropped', async () => {
      const other = await startServer({ root, maxBody: 1000 });
      try {
        const head = 'POST /cgi-bin/record-413.sh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50000000\r\n\r\n';
        const { answer, sentAfter, error } = await sendAfterAnswer(other.port, head);
        assert.equal(parseRawResponse(answer).status, 413);
        assert.equal(parseRawResponse(answer).headers.connection[0], 'close');
        assert.deepEqual({ sentAfter, error }, { sentAfter: 1 << 20, error: null }, 'the connection was reset while the client was still sending');
        // Not for ever: a client that trickles on (64 KiB every 100 ms, 10 s of it) is cut off (linger.ts, 2 s).
        const trickle = await sendAfterAnswer(other.port, head, { moreBytes: 100 * 65536, pieceDelayMs: 100 });
        assert.equal(parseRawResponse(trickle.answer).status, 413);
        assert.ok(trickle.sentAfter < 100 * 65536 && trickle.error !== null, `a trickling client kept its connection: ${JSON.stringify({ sentAfter: trickle.sentAfter, error: trickle.error })}`);
        assert.ok(!existsSync(join(root, 'cgi-bin', 'record-413.sh.ran')), 'the script ran for a body over the limit');
      } finally {
        await other.close();
      }
    });
    test('maxBody: a request pipelined after the refused body is not run (the 413 said Connection: close)', async () => {
      const other = await startServer({ root, maxBody: 1000 });
      try {
        const socket = connect({ port: other.port, host: '127.0.0.1', allowHalfOpen: true });
        let answer = '';
        socket.on('data', (d) => (answer += d.toString('latin1')));
        socket.on('error', () => {});
        socket.write('POST /cgi-bin/record-413.sh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n');
        await waitFor(() => answer.includes('\r\n\r\n'), 3000);
        // The rest of the body, then a second request on the connection the server said it closes.
        socket.write('x'.repeat(5000) + 'GET /cgi-bin/record-pipelined.sh HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        await new Promise((r) => setTimeout(r, 500));
        socket.destroy();
        assert.equal(parseRawResponse(answer).status, 413);
        assert.equal(answer.match(/HTTP\/1\.1 \d{3}/g).length, 1, 'a second answer on a closed connection');
        assert.ok(!existsSync(join(root, 'cgi-bin', 'record-pipelined.sh.ran')), 'a request sent after Connection: close was run (RFC 9112 9.6)');
      } finally {
        await other.close();
      }
    });
  });

  describe('which files run, and never showing source', () => {
    test('a script without its execute bit gets 403 and its source is never sent', async () => {
      const attempts = [
        request(srv.port, '/cgi-bin/plain.py'),
        request(srv.port, '/cgi-bin/plain.py', { method: 'POST', body: 'x=1', headers: { 'Content-Length': 3 } }),
        request(srv.port, '/cgi-bin/plain.py', { headers: { Range: 'bytes=0-200' } }),
        request(srv.port, '/cgi-bin/plain.py/extra'),
        request(srv.port, '/%63gi-bin/plain.py'),
      ];
      for (const res of await Promise.all(attempts)) {
        assert.equal(res.status, 403);
        assert.ok(!res.body.toString('latin1').includes(PLAIN_SOURCE_MARKER), 'non-executable script source sent');
      }
      const head = await rawGet(srv.port, '/cgi-bin/plain.py', { method: 'HEAD' });
      assert.equal(parseRawResponse(head).status, 403);
      assert.ok(!head.includes(PLAIN_SOURCE_MARKER));
      for (const path of ['/CGI-BIN/plain.py', '/cgi-bin//plain.py', '/cgi-bin/./plain.py']) {
        const res = await request(srv.port, path);
        assert.ok(!res.body.toString('latin1').includes(PLAIN_SOURCE_MARKER), `${path}: source sent`);
        assert.notEqual(res.status, 200, path);
      }
    });

    test('interpreters: {".py": python3} runs the non-executable file', async () => {
      const other = await startServer({ root, interpreters: { '.py': PYTHON } });
      try {
        const res = await request(other.port, '/cgi-bin/plain.py');
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'plain ran\n');
        assert.ok(!res.body.toString().includes(PLAIN_SOURCE_MARKER));
      } finally {
        await other.close();
      }
    });

    test('a symlink in cgi-bin to a program outside it is not run', async () => {
      const res = await request(srv.port, '/cgi-bin/sh', { method: 'POST', body: 'echo pwned', headers: { 'Content-Length': 10 } });
      assert.equal(res.status, 404);
      assert.ok(!res.body.toString().includes('pwned'));
    });

    test('a missing script is 404', async () => {
      for (const path of ['/cgi-bin/nope.py', '/cgi-bin/nope.py/extra', '/htbin/nope.sh']) {
        const res = await request(srv.port, path);
        assert.equal(res.status, 404, path);
      }
    });

    test('a directory under a script directory is 403 and not listed', async () => {
      for (const path of ['/cgi-bin/subdir/', '/cgi-bin/subdir', '/cgi-bin/']) {
        const res = await request(srv.port, path);
        assert.equal(res.status, 403, path);
        const text = res.body.toString();
        assert.ok(!text.includes('inner-file-name'), `${path} listed`);
        assert.ok(!text.includes('env.py'), `${path} listed`);
      }
    });

    test('other spellings of a script path never show its source', async () => {
      const cases = [
        ['/cgi-bin/./env.py', 301],
        ['/cgi-bin//env.py', 301],
        ['/CGI-BIN/env.py', 404],
        ['/cgi-bin/ENV.PY', 404],
        ['/%63gi-bin/env.py', 200],
        ['/cgi-bin/env%2Epy', 200],
        ['/cgi-bin/env.py/', 200],
        ['/htbin/../cgi-bin/env.py', 400],
      ];
      for (const [path, status] of cases) {
        for (const method of ['GET', 'HEAD']) {
          const reply = await rawGet(srv.port, path, { method, headers: 'Range: bytes=0-100\r\n' });
          const res = parseRawResponse(reply);
          assert.ok(!reply.includes(ENV_SOURCE_MARKER), `${method} ${path}: source sent`);
          assert.ok(!reply.includes('import os'), `${method} ${path}: source sent`);
          assert.equal(res.status, status, `${method} ${path}`);
          if (status === 301) assert.deepEqual(res.headers.location, ['/cgi-bin/env.py']);
          if (status === 200 && method === 'GET') assert.ok(reply.includes('GATEWAY_INTERFACE=CGI/1.1'), `${path} was not run`);
        }
      }
      // A symlink outside cgi-bin to a script: not its source.
      const link = await rawGet(srv.port, '/env-link.py');
      assert.ok(!link.includes(ENV_SOURCE_MARKER), '/env-link.py: source sent');
      assert.equal(parseRawResponse(link).status, 404);
      const trailing = parseEnv(parseRawResponse(await rawGet(srv.port, '/cgi-bin/env.py/')).body);
      assert.equal(trailing.PATH_INFO, '/');
      assert.equal(trailing.SCRIPT_NAME, '/cgi-bin/env.py');
    });

    test('cgi: false: script files are not run', async () => {
      const other = await startServer({ root, cgi: false });
      try {
        const res = await request(other.port, '/cgi-bin/record-nocgi.sh');
        assert.ok(!existsSync(join(root, 'cgi-bin', 'record-nocgi.sh.ran')), 'the script ran with cgi: false');
        assert.notEqual(res.body.toString(), 'recorded\n', 'the script output was sent with cgi: false');
        // With scripts off, script directories are plain folders (documented for --no-cgi).
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), readFileSync(join(root, 'cgi-bin', 'record-nocgi.sh'), 'utf8'));
        const env = await request(other.port, '/cgi-bin/env.py');
        assert.ok(!env.body.toString().includes('GATEWAY_INTERFACE=CGI/1.1'), 'env.py ran with cgi: false');
        const posted = await post(other.port, '/cgi-bin/record-nocgi.sh', Buffer.from('x'));
        assert.notEqual(posted.status, 200);
        assert.ok(!existsSync(join(root, 'cgi-bin', 'record-nocgi.sh.ran')), 'POST ran the script with cgi: false');
      } finally {
        await other.close();
      }
    });
  });
});

describe('command routes', () => {
  let root;
  let srv;
  const scripts = {
    'scripts/hello.py': [
      'import os, sys',
      'body = sys.stdin.buffer.read().decode()',
      'print("hello")',
      'for k in ("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "CONTENT_LENGTH", "GATEWAY_INTERFACE", "QUERY_STRING"):',
      '    print("%s=%s" % (k, os.environ.get(k, "<unset>")))',
      'print("CWD=" + os.getcwd())',
      'print("BODY=" + body)',
    ].join('\n') + '\n',
    'scripts/fail.py': [
      'import sys',
      'print("partial stdout before failing")',
      'sys.stdout.flush()',
      'sys.stderr.write("ROUTE-STDERR-SECRET-4411\\n")',
      'sys.exit(3)',
    ].join('\n') + '\n',
    'scripts/json.py': 'print(\'{"ok": true}\')\n',
    'scripts/cgi-route.py': [
      'import os, sys',
      'body = sys.stdin.read()',
      'sys.stdout.write("Status: 202 Accepted\\nContent-Type: application/json\\nX-Route: cgi\\n\\n")',
      'sys.stdout.write(\'{"method": "%s", "body": "%s"}\\n\' % (os.environ["REQUEST_METHOD"], body))',
    ].join('\n') + '\n',
    'scripts/cgi-bad.py': 'print("no header block here")\n',
    'scripts/late-fail.py': [
      'import sys, time',
      'print("started fine", flush=True)',
      'time.sleep(0.6)',
      'print("then failed", flush=True)',
      'sys.exit(1)',
    ].join('\n') + '\n',
    'scripts/slow.py': 'import time\ntime.sleep(30)\nprint("too late")\n',
    'scripts/ticks.py': [
      'import time',
      'for i in range(1, 6):',
      '    print("tick %d" % i, flush=True)',
      '    time.sleep(0.3)',
    ].join('\n') + '\n',
  };

  before(async () => {
    root = realpathSync(tempDir('scriptserve-route-test-'));
    writeTree(root, scripts);
    const cmd = (file) => `${PYTHON} scripts/${file}`;
    srv = await startServer({
      root,
      routes: [
        { method: 'POST', path: '/hello', command: cmd('hello.py') },
        { method: 'POST', path: '/fail', command: cmd('fail.py') },
        { method: 'GET', path: '/json', command: cmd('json.py'), contentType: 'application/json' },
        { method: 'ANY', path: '/any', command: cmd('hello.py') },
        { method: 'GET', path: '/api/*', command: cmd('hello.py') },
        { method: 'POST', path: '/cgi', command: cmd('cgi-route.py'), mode: 'cgi' },
        { method: 'GET', path: '/cgi-bad', command: cmd('cgi-bad.py'), mode: 'cgi' },
        { method: 'GET', path: '/late-fail', command: cmd('late-fail.py') },
        { method: 'GET', path: '/slow', command: cmd('slow.py'), timeout: 1 },
        { method: 'GET', path: '/ticks', command: cmd('ticks.py') },
      ],
    });
  });

  after(async () => {
    await srv?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('stdout mode: 200, the body, text/plain; charset=utf-8, CGI env and the body on stdin', async () => {
    const res = await post(srv.port, '/hello?q=1', Buffer.from('posted data'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    const env = parseEnv(res.body.toString().split('\n').slice(1).join('\n'));
    assert.ok(res.body.toString().startsWith('hello\n'));
    assert.equal(env.REQUEST_METHOD, 'POST');
    assert.equal(env.GATEWAY_INTERFACE, 'CGI/1.1');
    assert.equal(env.CONTENT_LENGTH, '11');
    assert.equal(env.QUERY_STRING, 'q=1');
    assert.equal(env.CWD, root);
    assert.equal(env.BODY, 'posted data');
  });

  test('a route only answers its method', async () => {
    const res = await request(srv.port, '/hello');
    assert.notEqual(res.status, 200);
    assert.ok(!res.body.toString().includes('REQUEST_METHOD'));
  });

  test('a failing command gives 500 and neither its stderr nor its stdout is sent', async () => {
    const res = await post(srv.port, '/fail', Buffer.from('x'));
    assert.equal(res.status, 500);
    const text = res.body.toString();
    assert.ok(!text.includes('ROUTE-STDERR-SECRET-4411'), 'stderr sent to the client');
    assert.ok(!text.includes('partial stdout before failing'), 'output of a failed command sent as a success');
    assert.ok(await waitFor(() => srv.logs.some((l) => l.includes('ROUTE-STDERR-SECRET-4411'))), 'stderr not logged');
  });

  test('contentType is honoured', async () => {
    const res = await request(srv.port, '/json');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.body.toString()), { ok: true });
  });

  test('ANY matches every method', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'POST']) {
      const res = await request(srv.port, '/any', { method, body: 'b', headers: { 'Content-Length': 1 } });
      assert.equal(res.status, 200, method);
      assert.equal(parseEnv(res.body.toString()).REQUEST_METHOD, method);
    }
  });

  test('HEAD on an ANY route: headers, no body', async () => {
    const reply = await rawRequest(srv.port, 'HEAD /any HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const res = parseRawResponse(reply);
    assert.equal(res.status, 200);
    assert.deepEqual(res.headers['content-type'], ['text/plain; charset=utf-8']);
    assert.equal(res.body, '');
  });

  test('stdout mode streams: the first line arrives before the command ends', async () => {
    const { status, chunks, arrivals, total } = await timedGet(srv.port, '/ticks');
    assert.equal(status, 200);
    assert.equal(chunks.join(''), 'tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n');
    assert.ok(arrivals[0] < total - 600, `first chunk at ${arrivals[0].toFixed(0)} ms of ${total.toFixed(0)} ms`);
  });

  test('a command that fails after its output began streaming: the response is cut, not completed', async () => {
    const conn = await Conn.open(srv.port);
    try {
      conn.write('GET /late-fail HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      const head = await conn.readHead();
      assert.equal(head.status, 200);
      assert.deepEqual(head.headers['transfer-encoding'], ['chunked']);
      assert.equal(await conn.chunkedOutcome(5000), 'closed', 'a failed command answered as a complete 200');
      assert.ok(conn.buf.toString().includes('started fine'));
    } finally {
      conn.destroy();
    }
  });

  test('a per-route timeout gives 504 and the command is gone', async () => {
    const marker = join(root, 'scripts', 'slow.py');
    const res = await request(srv.port, '/slow', { timeout: 10000 });
    assert.equal(res.status, 504);
    assert.ok(!res.body.toString().includes('too late'));
    assert.ok(await waitFor(async () => (await pidsMatching(marker)).length === 0, 5000), 'timed-out command survived');
  });

  test('bad config in scriptserve.json is a clear error at start-up', async () => {
    const dir = realpathSync(tempDir('scriptserve-badconfig-test-'));
    try {
      writeTree(dir, { 'scriptserve.json': '{"routes": [' });
      await assert.rejects(startServer({ root: dir }), /scriptserve\.json.*not valid JSON/);
      writeTree(dir, { 'scriptserve.json': JSON.stringify({ routes: [{ method: 'POST', path: '/x', command: `${PYTHON} -c pass`, mode: 'shell' }] }) });
      await assert.rejects(startServer({ root: dir }), /mode/);
      writeTree(dir, { 'scriptserve.json': JSON.stringify({ rootes: [] }) });
      await assert.rejects(startServer({ root: dir }), /unknown key "rootes"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a /prefix/* route matches below the prefix and sets PATH_INFO', async () => {
    const res = await request(srv.port, '/api/users/42%20x');
    assert.equal(res.status, 200);
    const env = parseEnv(res.body.toString());
    assert.equal(env.SCRIPT_NAME, '/api');
    assert.equal(env.PATH_INFO, '/users/42 x');
    const none = await request(srv.port, '/apix/users');
    assert.equal(none.status, 404);
  });

  test('cgi mode parses the output as CGI', async () => {
    const res = await post(srv.port, '/cgi', Buffer.from('data'));
    assert.equal(res.status, 202);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['x-route'], 'cgi');
    assert.deepEqual(JSON.parse(res.body.toString()), { method: 'POST', body: 'data' });
    const bad = await request(srv.port, '/cgi-bad');
    assert.equal(bad.status, 502);
    assert.ok(!bad.body.toString().includes('no header block here'));
  });

  test('route command files inside the root are not served', async () => {
    const res = await request(srv.port, '/scripts/hello.py');
    assert.equal(res.status, 404);
    assert.ok(!res.body.toString().includes('os.environ'));
  });

  test('routes from scriptserve.json in the root; the file itself is not served', async () => {
    const dir = realpathSync(tempDir('scriptserve-config-test-'));
    writeTree(dir, {
      'scripts/hello.py': scripts['scripts/hello.py'],
      'scriptserve.json': JSON.stringify({
        routes: [
          { method: 'POST', path: '/from-config', command: `${PYTHON} scripts/hello.py` },
          { method: 'GET', path: '/typed', command: `${PYTHON} scripts/hello.py`, contentType: 'text/x-custom' },
        ],
      }),
    });
    const other = await startServer({ root: dir });
    try {
      const res = await post(other.port, '/from-config', Buffer.from('cfg'));
      assert.equal(res.status, 200);
      assert.equal(parseEnv(res.body.toString()).BODY, 'cfg');
      const typed = await request(other.port, '/typed');
      assert.equal(typed.headers['content-type'], 'text/x-custom');
      const config = await request(other.port, '/scriptserve.json');
      assert.equal(config.status, 404);
      assert.ok(!config.body.toString().includes('from-config'));
    } finally {
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
