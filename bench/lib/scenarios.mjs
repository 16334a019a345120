// What is measured, and the check each server must pass before it is.
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { BODY_16, BODY_64K } from './fixtures.mjs';
import { request } from './proc.mjs';

const POST_HEADERS = (body) => ({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) });

/**
 * The scenarios, in the order they run. `floor` describes the spawn floor of
 * a script scenario; `script` marks those that run a script per request
 * (where lib/cpu.mjs splits a request's CPU).
 */
export function scenarios(fx) {
  const post = (path, body) => ({ method: 'POST', path, headers: POST_HEADERS(body), body });
  const get = (path) => ({ method: 'GET', path, headers: {} });
  const script = (rel, body, expect) => ({ argv: [join(fx.root, rel)], cwd: join(fx.root, 'cgi-bin'), body, expect });
  return [
    { id: 'get-1k', title: 'GET 1 KiB file', request: get('/1k.bin'), expect: { status: 200, body: fx.files['1k.bin'] } },
    { id: 'get-100k', title: 'GET 100 KiB file', request: get('/100k.bin'), expect: { status: 200, body: fx.files['100k.bin'] } },
    { id: 'get-10m', title: 'GET 10 MiB file', request: get('/10m.bin'), expect: { status: 200, body: fx.files['10m.bin'] }, metric: 'mbps' },
    { id: 'listing', title: 'Directory listing, 200 entries', request: get('/list/'), expect: { status: 200, contains: fx.listingNames } },
    { id: '404', title: 'Missing file (404)', request: get('/missing.bin'), expect: { status: 404 } },
    {
      id: '304',
      title: '304 revalidation of the 1 KiB file',
      request: get('/1k.bin'),
      conditional: true,
      expect: { status: 304, body: Buffer.alloc(0) },
      // The target compares two rates of the same server: the plain GET is measured on the
      // same scriptserve process right after each 304 run, so machine drift between
      // scenarios minutes apart does not decide the ratio.
      paired: { id: '304-get', label: 'scriptserve, plain GET of the same file (measured right after its 304 run)', request: get('/1k.bin'), expect: { status: 200, body: fx.files['1k.bin'] } },
    },
    {
      id: 'compress-100k',
      title: 'GET a 100 KiB text file compressed (Accept-Encoding: br, gzip): scriptserve compresses once and caches, sirv sends its precompressed copy',
      request: { method: 'GET', path: '/text/100k.txt', headers: { 'Accept-Encoding': 'br, gzip' } },
      expect: { status: 200, decoded: fx.files['text/100k.txt'] },
      // The target compares the compressed rate with the uncompressed rate of the same file on the same process.
      paired: { id: 'compress-100k-identity', label: 'scriptserve, the same file uncompressed (no Accept-Encoding; measured right after)', request: get('/text/100k.txt'), expect: { status: 200, body: fx.files['text/100k.txt'] } },
    },
    {
      id: 'cgi-sh',
      script: true,
      title: 'POST 16 bytes to a /bin/sh CGI script',
      request: post('/cgi-bin/hello.sh', BODY_16),
      expect: { status: 200, body: fx.expected.sh },
      floor: { label: 'sh', ...script('cgi-bin/hello.sh', BODY_16, fx.expected.sh) },
    },
    {
      id: 'cgi-py',
      script: true,
      title: 'POST 16 bytes to a Python CGI script (/usr/bin/python3)',
      request: post('/cgi-bin/hello.py', BODY_16),
      expect: { status: 200, body: fx.expected.py },
      floor: { label: 'python', ...script('cgi-bin/hello.py', BODY_16, fx.expected.py) },
      // Issue 15: the least a warm Python request can cost here (bench/warm-floor.py).
      warmFloor: { script: join(fx.root, 'cgi-bin', 'hello.py'), body: BODY_16, expect: fx.stdout.py },
    },
    {
      id: 'echo-64k',
      script: true,
      title: 'POST 64 KiB echoed by a Python CGI script',
      request: post('/cgi-bin/echo.py', BODY_64K),
      expect: { status: 200, body: fx.expected.echo },
      floor: { label: 'python echo', ...script('cgi-bin/echo.py', BODY_64K, fx.expected.echo) },
    },
    {
      id: 'route',
      script: true,
      title: "Command route --route 'POST /hello=/bin/sh route.sh' (vs the same /bin/sh work as CGI)",
      request: post('/hello', BODY_16),
      expect: { status: 200, body: fx.expected.route },
      floor: { label: 'sh route.sh', argv: ['/bin/sh', join(fx.root, 'route.sh')], cwd: fx.root, body: BODY_16, expect: fx.expected.route },
      compareWith: 'cgi-sh',
    },
  ];
}

function verify(res, expect) {
  if (res.status !== expect.status) return `status ${res.status}, expected ${expect.status}`;
  if (expect.decoded) {
    const coding = res.headers['content-encoding'];
    if (coding !== 'br' && coding !== 'gzip') return `not compressed (Content-Encoding: ${coding ?? 'none'})`;
    const decoded = coding === 'br' ? brotliDecompressSync(res.body) : gunzipSync(res.body);
    if (!decoded.equals(expect.decoded)) return `decoded body differs (${decoded.length} bytes, expected ${expect.decoded.length})`;
  }
  if (expect.body && !res.body.equals(expect.body)) {
    return `body differs (${res.size} bytes, expected ${expect.body.length}): ${JSON.stringify(res.body.subarray(0, 60).toString('latin1'))}`;
  }
  if (expect.contains) {
    const text = res.body.toString('utf8');
    const missing = expect.contains.filter((name) => !text.includes(name));
    if (missing.length) return `listing lacks ${missing.length} of ${expect.contains.length} entries (first: ${missing[0]})`;
  }
  return null;
}

/**
 * Check one response from the server and return the request the load
 * generator will repeat, or {refused} with the reason. For 304, the
 * validator is the one the server gave: its ETag (If-None-Match), else its
 * Last-Modified (If-Modified-Since).
 */
export async function checkServer(port, scenario, tls = false) {
  let req = scenario.request;
  try {
    if (scenario.conditional) {
      const first = await request(port, { path: req.path, tls });
      if (first.status !== 200) return { refused: `plain GET answered ${first.status}` };
      const etag = first.headers.etag;
      const lastModified = first.headers['last-modified'];
      if (!etag && !lastModified) return { refused: 'no ETag nor Last-Modified to revalidate with' };
      const headers = etag ? { 'If-None-Match': etag } : { 'If-Modified-Since': lastModified };
      req = { ...req, headers: { ...req.headers, ...headers }, validator: etag ? 'If-None-Match' : 'If-Modified-Since' };
    }
    const res = await request(port, { method: req.method, path: req.path, headers: req.headers, body: req.body, tls });
    const wrong = verify(res, scenario.expect);
    if (wrong) return { refused: `answered wrong: ${wrong}` };
    // A body with neither Content-Length nor chunked coding ends when the server closes the connection.
    const closeDelimited = res.headers['content-length'] === undefined && res.headers['transfer-encoding'] === undefined && res.status === 200;
    return { request: req, closeDelimited };
  } catch (err) {
    return { refused: `check failed: ${err.message}` };
  }
}
