// Issue 19 (and issue 17's 404 page): the cross-origin model over raw
// requests, configured headers, the lookup order (rewrites, --ext, --spa,
// 404.html), cleanUrls, redirects and rewrites with their hostile inputs, and
// --base-path. The Chromium half of the cross-origin proof is
// cors-browser.test.mjs. Scripts here are sh, so the warm pass skips this file.
import assert from 'node:assert/strict';
import { existsSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer, resolveConfig, ConfigError } from '../dist/index.js';
import { translateSource, buildDestination } from '../dist/rewrite.js';
import { belowBasePath, localLocation } from '../dist/base-path.js';
import { OriginList } from '../dist/cors.js';
import { request, runCli, startServer, tempDir, writeTree } from './helpers.mjs';

/** A sh CGI script that touches a side-effect file (so a test can tell it ran) and prints its environment as JSON. */
const ECHO_SCRIPT = (marker) => ({
  content: `#!/bin/sh
touch "${marker}"
echo "Content-Type: application/json"
echo
printf '{"SCRIPT_NAME":"%s","REQUEST_URI":"%s","PATH_INFO":"%s","QUERY_STRING":"%s","REQUEST_METHOD":"%s"}\\n' "$SCRIPT_NAME" "$REQUEST_URI" "$PATH_INFO" "$QUERY_STRING" "$REQUEST_METHOD"
`,
  mode: 0o755,
});

/** A script that does CORS itself. */
const OWN_CORS_SCRIPT = {
  content: `#!/bin/sh
echo "Content-Type: text/plain"
echo "Access-Control-Allow-Origin: https://own.example"
echo "X-Custom: from-script"
echo "Vary: Accept-Language"
echo
echo own
`,
  mode: 0o755,
};

/** Every value of a header in a raw header list (lower-cased name). */
function all(res, name) {
  const out = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i].toLowerCase() === name) out.push(res.rawHeaders[i + 1]);
  return out;
}

const preflight = (origin, method = 'POST', extra = {}) => ({
  method: 'OPTIONS',
  headers: { Origin: origin, 'Access-Control-Request-Method': method, ...extra },
});

describe('cross-origin: preflights are answered by the server, never by scripts', () => {
  let root;
  let marker;
  before(() => {
    root = tempDir();
    marker = join(root, 'ran');
    writeTree(root, { 'cgi-bin/api.sh': ECHO_SCRIPT(marker), 'data.txt': 'data\n' });
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const reset = () => existsSync(marker) && unlinkSync(marker);

  test('an allowed origin gets 204 with exactly the CORS headers, and the script does not run', async () => {
    const s = await startServer({ root, allowOrigins: ['https://app.example'] });
    try {
      reset();
      const r = await request(s.port, '/cgi-bin/api.sh', preflight('https://app.example', 'POST', { 'Access-Control-Request-Headers': 'Content-Type, X-Token' }));
      assert.equal(r.status, 204);
      assert.equal(r.headers['access-control-allow-origin'], 'https://app.example');
      assert.equal(r.headers['access-control-allow-methods'], 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
      assert.equal(r.headers['access-control-allow-headers'], 'Content-Type, X-Token');
      assert.equal(r.headers['access-control-max-age'], '600');
      assert.equal(r.headers.vary, 'Origin');
      assert.equal(r.headers['access-control-allow-credentials'], undefined);
      assert.equal(r.headers['access-control-allow-private-network'], undefined);
      assert.equal(r.headers['access-control-expose-headers'], undefined);
      assert.equal(r.body.length, 0);
      assert.equal(existsSync(marker), false, 'the preflight ran the script');
      // A file's Allow set.
      const f = await request(s.port, '/data.txt', preflight('https://app.example', 'GET'));
      assert.equal(f.status, 204);
      assert.equal(f.headers['access-control-allow-methods'], 'GET, HEAD, OPTIONS');
    } finally {
      await s.close();
    }
  });

  test('a refused origin, or no cross-origin option at all, gets 403 with one line, and the script does not run', async () => {
    for (const options of [{ allowOrigins: ['https://app.example'] }, {}]) {
      const s = await startServer({ root, ...options });
      try {
        reset();
        const r = await request(s.port, '/cgi-bin/api.sh', preflight('https://evil.example'));
        assert.equal(r.status, 403);
        assert.match(r.body.toString(), /<p>Cross-origin request refused: this origin is not allowed \(see --allow-origin and --cors\)\.<\/p>/);
        assert.equal(r.headers['access-control-allow-origin'], undefined);
        assert.equal(existsSync(marker), false, 'a refused preflight ran the script');
        assert.ok(s.logs.some((l) => l.includes('preflight refused for origin https://evil.example')));
      } finally {
        await s.close();
      }
    }
  });

  test('a plain OPTIONS (no Access-Control-Request-Method) is not a preflight', async () => {
    const s = await startServer({ root, allowOrigins: ['https://app.example'] });
    try {
      const r = await request(s.port, '/data.txt', { method: 'OPTIONS', headers: { Origin: 'https://app.example' } });
      assert.equal(r.status, 204);
      assert.equal(r.headers.allow, 'GET, HEAD, OPTIONS');
      assert.equal(r.headers['access-control-allow-methods'], undefined);
    } finally {
      await s.close();
    }
  });

  test('--scripts-answer-preflight hands preflights for scripts to them (files are still answered by the server)', async () => {
    const s = await startServer({ root, allowOrigins: ['https://app.example'], scriptsAnswerPreflight: true });
    try {
      reset();
      const r = await request(s.port, '/cgi-bin/api.sh', preflight('https://evil.example'));
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).REQUEST_METHOD, 'OPTIONS');
      assert.equal(existsSync(marker), true);
      const f = await request(s.port, '/data.txt', preflight('https://evil.example', 'GET'));
      assert.equal(f.status, 403);
    } finally {
      await s.close();
    }
  });

  test('Private Network Access: an allowed origin asking for the private network gets Access-Control-Allow-Private-Network', async () => {
    const s = await startServer({ root, allowOrigins: ['https://app.example'] });
    try {
      const r = await request(s.port, '/data.txt', preflight('https://app.example', 'GET', { 'Access-Control-Request-Private-Network': 'true' }));
      assert.equal(r.status, 204);
      assert.equal(r.headers['access-control-allow-private-network'], 'true');
      const refused = await request(s.port, '/data.txt', preflight('https://evil.example', 'GET', { 'Access-Control-Request-Private-Network': 'true' }));
      assert.equal(refused.status, 403);
      assert.equal(refused.headers['access-control-allow-private-network'], undefined);
    } finally {
      await s.close();
    }
  });

  test("a command route's preflight lists the route's methods; preflights come before authentication", async () => {
    const s = await startServer({
      root,
      allowOrigins: ['https://app.example'],
      auth: ['u:p'],
      routes: [{ method: 'POST', path: '/submit', command: ['/bin/sh', '-c', `touch ${marker}; echo ok`] }],
    });
    try {
      reset();
      const r = await request(s.port, '/submit', preflight('https://app.example'));
      assert.equal(r.status, 204);
      assert.equal(r.headers['access-control-allow-methods'], 'POST, OPTIONS');
      assert.equal(existsSync(marker), false);
      // The actual request still needs credentials.
      const actual = await request(s.port, '/submit', { method: 'POST', headers: { Origin: 'https://app.example' } });
      assert.equal(actual.status, 401);
      assert.equal(existsSync(marker), false);
    } finally {
      await s.close();
    }
  });
});

describe('cross-origin: the answers an origin may read', () => {
  let root;
  let marker;
  before(() => {
    root = tempDir();
    marker = join(root, 'ran');
    writeTree(root, { 'cgi-bin/api.sh': ECHO_SCRIPT(marker), 'cgi-bin/own.sh': OWN_CORS_SCRIPT, 'data.txt': 'data\n', 'dir/a.txt': 'a' });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('--allow-origin echoes the listed origin on every kind of response, with Vary: Origin; others get no ACAO', async () => {
    const s = await startServer({ root, allowOrigins: ['https://app.example'] });
    try {
      for (const path of ['/data.txt', '/dir/', '/cgi-bin/api.sh', '/missing', '/dir']) {
        const r = await request(s.port, path, { headers: { Origin: 'https://app.example' } });
        assert.equal(r.headers['access-control-allow-origin'], 'https://app.example', path);
        assert.match(r.headers.vary, /\bOrigin\b/, path);
        const other = await request(s.port, path, { headers: { Origin: 'https://other.example' } });
        assert.equal(other.headers['access-control-allow-origin'], undefined, path);
        assert.match(other.headers.vary, /\bOrigin\b/, path);
        const none = await request(s.port, path);
        assert.equal(none.headers['access-control-allow-origin'], undefined, path);
        assert.match(none.headers.vary, /\bOrigin\b/, path);
      }
      // The listing's own Vary (Accept, and Accept-Encoding since listings are compressed) is kept beside Origin.
      const listing = await request(s.port, '/dir/');
      assert.equal(listing.headers.vary, 'Accept, Accept-Encoding, Origin');
    } finally {
      await s.close();
    }
  });

  test('without any allowed origin, responses carry no CORS header and no Vary: Origin', async () => {
    const s = await startServer({ root });
    try {
      const r = await request(s.port, '/data.txt', { headers: { Origin: 'https://app.example' } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.vary, undefined);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    } finally {
      await s.close();
    }
  });

  test('an unsafe request from a refused origin is 403 and never runs the script', async () => {
    const s = await startServer({ root, allowOrigins: ['https://app.example'] });
    try {
      if (existsSync(marker)) unlinkSync(marker);
      const r = await request(s.port, '/cgi-bin/api.sh', { method: 'POST', headers: { Origin: 'https://evil.example', 'Content-Type': 'text/plain' }, body: 'x' });
      assert.equal(r.status, 403);
      assert.equal(existsSync(marker), false);
      const ok = await request(s.port, '/cgi-bin/api.sh', { method: 'POST', headers: { Origin: 'https://app.example', 'Content-Type': 'text/plain' }, body: 'x' });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example');
      assert.equal(existsSync(marker), true);
    } finally {
      await s.close();
    }
  });

  test('origin patterns: https://*.example.com matches subdomains only, same scheme and port', async () => {
    const s = await startServer({ root, allowOrigins: ['https://*.example.com'] });
    try {
      const cases = [
        ['https://a.example.com', true],
        ['https://a.b.example.com', true],
        ['https://A.Example.COM', true],
        ['https://example.com', false],
        ['http://a.example.com', false],
        ['https://a.example.com:8443', false],
        ['https://a.example.com.evil.net', false],
        ['https://evil-example.com', false],
        ['null', false],
      ];
      for (const [origin, allowed] of cases) {
        const r = await request(s.port, '/data.txt', { headers: { Origin: origin } });
        assert.equal(r.headers['access-control-allow-origin'], allowed ? origin : undefined, origin);
        const p = await request(s.port, '/data.txt', preflight(origin, 'GET'));
        assert.equal(p.status, allowed ? 204 : 403, origin);
      }
    } finally {
      await s.close();
    }
  });

  test('--cors is *, without credentials; with --allow-origin too, listed origins get their own origin and credentials', async () => {
    const any = await startServer({ root, cors: true });
    try {
      const r = await request(any.port, '/data.txt', { headers: { Origin: 'https://x.example' } });
      assert.equal(r.headers['access-control-allow-origin'], '*');
      assert.equal(r.headers['access-control-allow-credentials'], undefined);
      assert.match(r.headers.vary, /Origin/);
      const p = await request(any.port, '/data.txt', preflight('https://x.example', 'GET'));
      assert.equal(p.status, 204);
      assert.equal(p.headers['access-control-allow-origin'], '*');
    } finally {
      await any.close();
    }
    const both = await startServer({ root, cors: true, allowOrigins: ['https://app.example'], corsCredentials: true, corsExpose: ['X-Total', 'ETag'] });
    try {
      const listed = await request(both.port, '/data.txt', { headers: { Origin: 'https://app.example' } });
      assert.equal(listed.headers['access-control-allow-origin'], 'https://app.example');
      assert.equal(listed.headers['access-control-allow-credentials'], 'true');
      assert.equal(listed.headers['access-control-expose-headers'], 'X-Total, ETag');
      const other = await request(both.port, '/data.txt', { headers: { Origin: 'https://x.example' } });
      assert.equal(other.headers['access-control-allow-origin'], '*');
      assert.equal(other.headers['access-control-allow-credentials'], undefined);
      assert.equal(other.headers['access-control-expose-headers'], 'X-Total, ETag');
      const p = await request(both.port, '/data.txt', preflight('https://app.example', 'GET'));
      assert.equal(p.headers['access-control-allow-credentials'], 'true');
      const pOther = await request(both.port, '/data.txt', preflight('https://x.example', 'GET'));
      assert.equal(pOther.headers['access-control-allow-credentials'], undefined);
    } finally {
      await both.close();
    }
  });

  test("the server's reserved paths (/.well-known/scriptserve/) send no CORS headers, only Vary: Origin", async () => {
    const s = await startServer({ root, cors: true, allowOrigins: ['https://app.example'] });
    try {
      const r = await request(s.port, '/.well-known/scriptserve/live-reload', { headers: { Origin: 'https://app.example' } });
      assert.equal(r.headers['access-control-allow-origin'], undefined);
      assert.match(r.headers.vary, /Origin/);
    } finally {
      await s.close();
    }
  });

  test('--cors-credentials without --allow-origin is a start-up error (even with --cors)', async () => {
    assert.throws(() => resolveConfig({ root, corsCredentials: true }), (e) => e instanceof ConfigError && /--cors-credentials needs --allow-origin/.test(e.message));
    assert.throws(() => resolveConfig({ root, cors: true, corsCredentials: true }), ConfigError);
    const cli = await runCli(['-d', root, '--cors', '--cors-credentials']);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /^scriptserve: --cors-credentials needs --allow-origin[^\n]*\n$/);
    assert.throws(() => resolveConfig({ root, allowOrigins: ['https://*.exa*mple.com'] }), ConfigError);
    assert.throws(() => resolveConfig({ root, allowOrigins: ['https://*.example.com/path'] }), ConfigError);
  });

  test("a script's own Access-Control-* headers are kept, never doubled; Vary is merged", async () => {
    const s = await startServer({ root, allowOrigins: ['https://app.example'], corsCredentials: true });
    try {
      const r = await request(s.port, '/cgi-bin/own.sh', { headers: { Origin: 'https://app.example' } });
      assert.equal(r.status, 200);
      assert.deepEqual(all(r, 'access-control-allow-origin'), ['https://own.example']);
      // The server adds what the script did not set.
      assert.deepEqual(all(r, 'access-control-allow-credentials'), ['true']);
      // Accept-Encoding: the script's text could be compressed (issue 18), so it varies with it too.
      assert.deepEqual(all(r, 'vary'), ['Accept-Language, Accept-Encoding, Origin']);
    } finally {
      await s.close();
    }
  });
});

describe('configured headers', () => {
  let root;
  before(() => {
    root = tempDir();
    writeTree(root, {
      'app.js': 'js',
      'style.css': 'css',
      'about.html': 'about',
      'dir/x.txt': 'x',
      'cgi-bin/own.sh': OWN_CORS_SCRIPT,
      'scriptserve.json': JSON.stringify({ headers: [{ source: '**/*.js', headers: { 'Cache-Control': 'max-age=3600', 'X-Js': '1' } }, { source: '/dir/**', headers: { 'X-Dir': 'yes' } }] }),
    });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test("-H goes on every response; the config file's globs on their paths; a script's own header wins on its response", async () => {
    const s = await startServer({ root, headers: [{ source: '**', headers: { 'X-Custom': 'server' } }, { source: '**', headers: { 'X-Frame-Options': 'DENY' } }], ext: 'html' });
    try {
      const js = await request(s.port, '/app.js');
      assert.equal(js.headers['cache-control'], 'max-age=3600', 'a configured header replaces the default on files');
      assert.equal(js.headers['x-js'], '1');
      assert.equal(js.headers['x-custom'], 'server');
      assert.equal(js.headers['x-frame-options'], 'DENY');
      const css = await request(s.port, '/style.css');
      assert.equal(css.headers['cache-control'], 'no-cache');
      assert.equal(css.headers['x-js'], undefined);
      assert.equal(css.headers['x-custom'], 'server');
      const listing = await request(s.port, '/dir/');
      assert.equal(listing.headers['x-dir'], 'yes');
      assert.equal((await request(s.port, '/dir/x.txt')).headers['x-dir'], 'yes');
      const missing = await request(s.port, '/nothing');
      assert.equal(missing.status, 404);
      assert.equal(missing.headers['x-custom'], 'server');
      assert.equal(missing.headers['cache-control'], 'no-store', "an error page keeps its own headers");
      const redirect = await request(s.port, '/dir');
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers['x-custom'], 'server');
      const script = await request(s.port, '/cgi-bin/own.sh');
      assert.deepEqual(all(script, 'x-custom'), ['from-script']);
      assert.equal(script.headers['x-frame-options'], 'DENY');
      const cached = await request(s.port, '/app.js', { headers: { 'If-None-Match': js.headers.etag } });
      assert.equal(cached.status, 304);
      assert.equal(cached.headers['cache-control'], 'max-age=3600');
    } finally {
      await s.close();
    }
  });

  test('invalid names and values are refused at start-up with one line (CRLF, non-token, framing, CORS)', async () => {
    const bad = [
      ['X-Evil: a\r\nSet-Cookie: pwned=1', /control character/],
      ['X-Evil: a\nb', /control character/],
      ['Bad Name: x', /not a valid header name/],
      ['Content-Length: 5', /computed by the server/],
      ['Transfer-Encoding: chunked', /computed by the server/],
      ['Access-Control-Allow-Origin: *', /cross-origin options/],
      ['nocolon', /must be 'Name: value'/],
    ];
    for (const [spec, why] of bad) {
      const cli = await runCli(['-d', root, '-H', spec]);
      assert.equal(cli.code, 1, spec);
      assert.match(cli.stderr, why, spec);
      assert.equal(cli.stderr.trim().split('\n').length, 1, `one line for ${JSON.stringify(spec)}: ${cli.stderr}`);
    }
    assert.throws(() => resolveConfig({ root, headers: [{ source: '**', headers: { 'X-A': 'a\r\nb' } }] }), (e) => e instanceof ConfigError && /control character/.test(e.message));
    assert.throws(() => resolveConfig({ root, headers: [{ source: '**', headers: { 'X-A': 5 } }] }), ConfigError);
    assert.throws(() => resolveConfig({ root, headers: [{ headers: {} }] }), ConfigError);
  });
});

describe('the lookup order: --ext, --spa, 404.html', () => {
  let root;
  let outside;
  let marker;
  before(() => {
    root = tempDir();
    outside = tempDir();
    marker = join(root, 'ran');
    writeTree(root, {
      'index.html': '<p>app shell</p>',
      'about.html': 'about page',
      'docs/index.html': 'docs',
      'real/file.txt': 'real',
      '.secret.html': 'secret',
      'cgi-bin/echo.sh': ECHO_SCRIPT(marker),
      'cgi-bin/page.html': { content: '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho ran page\n', mode: 0o755 },
    });
    writeTree(outside, { 'leak.html': 'outside the root' });
    symlinkSync(join(outside, 'leak.html'), join(root, 'leak.html'));
    symlinkSync(join(root, 'cgi-bin', 'page.html'), join(root, 'viascript.html'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });
  const html = { headers: { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } };

  test('--ext html: /about serves about.html; no alias bypasses the dotfile, symlink or script-directory rules', async () => {
    const s = await startServer({ root, ext: 'html' });
    try {
      const r = await request(s.port, '/about');
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'about page');
      assert.equal((await request(s.port, '/about/')).status, 404);
      assert.equal((await request(s.port, '/.secret')).status, 404, 'dotfile');
      assert.equal((await request(s.port, '/leak')).status, 404, 'symlink out of the root');
      assert.equal((await request(s.port, '/viascript')).status, 404, 'symlink into the script directory');
      if (existsSync(marker)) unlinkSync(marker);
      const inScripts = await request(s.port, '/cgi-bin/page');
      assert.equal(inScripts.status, 404, 'no alias inside a script directory');
      assert.doesNotMatch(inScripts.body.toString(), /ran page/);
      assert.equal((await request(s.port, '/about', { method: 'POST' })).status, 404);
    } finally {
      await s.close();
    }
  });

  test('--spa: extension-less misses that accept HTML get the app shell; assets, scripts, dotfiles and non-browsers do not', async () => {
    const s = await startServer({ root, spa: true });
    try {
      const r = await request(s.port, '/users/42', html);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), '<p>app shell</p>');
      assert.match(r.headers['content-type'], /^text\/html/);
      assert.equal((await request(s.port, '/app.js', html)).status, 404, 'asset-like miss');
      assert.equal((await request(s.port, '/users/42', { headers: { Accept: '*/*' } })).status, 404, 'fetch/curl default Accept');
      assert.equal((await request(s.port, '/users/42')).status, 404, 'no Accept');
      assert.equal((await request(s.port, '/users/42', { ...html, method: 'POST' })).status, 404, 'not for POST');
      const missingScript = await request(s.port, '/cgi-bin/missing.py', html);
      assert.equal(missingScript.status, 404);
      assert.doesNotMatch(missingScript.body.toString(), /app shell/);
      assert.equal((await request(s.port, '/cgi-bin/nothing', html)).status, 404, 'no SPA inside a script directory');
      assert.equal((await request(s.port, '/.hidden', html)).status, 404, 'dot paths stay hidden');
      assert.equal((await request(s.port, '/.secret', html)).body.toString().includes('secret'), false);
      const dir = await request(s.port, '/real/', html);
      assert.equal(dir.status, 200);
      assert.match(dir.body.toString(), /file\.txt/, 'real directories are unaffected');
      const script = await request(s.port, '/cgi-bin/echo.sh', html);
      assert.equal(JSON.parse(script.body).SCRIPT_NAME, '/cgi-bin/echo.sh');
    } finally {
      await s.close();
    }
    const named = await startServer({ root, spa: 'about.html' });
    try {
      assert.equal((await request(named.port, '/x/y', html)).body.toString(), 'about page');
    } finally {
      await named.close();
    }
    assert.throws(() => resolveConfig({ root, spa: '../etc/passwd' }), ConfigError);
  });

  test('404.html at the root answers GET and HEAD misses with status 404, its own type and no caching headers; SPA comes first', async () => {
    writeFileSync(join(root, '404.html'), '<h1>lost</h1>');
    try {
      for (const fileCache of [true, false]) {
        const s = await startServer({ root, fileCache });
        try {
          const r = await request(s.port, '/nowhere.txt');
          assert.equal(r.status, 404);
          assert.equal(r.body.toString(), '<h1>lost</h1>');
          assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
          assert.equal(r.headers.etag, undefined);
          assert.equal(r.headers['last-modified'], undefined);
          assert.equal(r.headers['accept-ranges'], undefined);
          assert.equal(r.headers['cache-control'], 'no-store');
          const again = await request(s.port, '/nowhere.txt', { headers: { 'If-None-Match': '*', Range: 'bytes=0-1' } });
          assert.equal(again.status, 404);
          const head = await request(s.port, '/nowhere.txt', { method: 'HEAD' });
          assert.equal(head.status, 404);
          assert.equal(head.headers['content-length'], '13');
          assert.equal(head.body.length, 0);
          const post = await request(s.port, '/nowhere.txt', { method: 'POST' });
          assert.equal(post.status, 404);
          assert.doesNotMatch(post.body.toString(), /lost/);
        } finally {
          await s.close();
        }
      }
      const spa = await startServer({ root, spa: true });
      try {
        assert.equal((await request(spa.port, '/route', html)).status, 200);
        const asset = await request(spa.port, '/route.png', html);
        assert.equal(asset.status, 404);
        assert.equal(asset.body.toString(), '<h1>lost</h1>');
      } finally {
        await spa.close();
      }
    } finally {
      unlinkSync(join(root, '404.html'));
    }
    const s = await startServer({ root });
    try {
      const r = await request(s.port, '/nowhere.txt');
      assert.equal(r.status, 404);
      assert.match(r.body.toString(), /404 Not Found/);
    } finally {
      await s.close();
    }
  });

  test('no alias bypasses the dotfile, symlink or script-directory rules: rewrites, --spa and 404.html are looked up like requests', async () => {
    const rules = join(root, 'rules.json');
    writeFileSync(rules, JSON.stringify({
      rewrites: [
        { source: '/to-dotfile', destination: '/.secret.html' },
        { source: '/to-symlink', destination: '/leak.html' },
        { source: '/to-script-source', destination: '/CGI-BIN/page.html' },
        { source: '/to-script-by-symlink', destination: '/viascript.html' },
      ],
    }));
    const s = await startServer({ root, configFile: rules });
    try {
      for (const path of ['/to-dotfile', '/to-symlink', '/to-script-source', '/to-script-by-symlink']) {
        const r = await request(s.port, path);
        assert.equal(r.status, 404, path);
        assert.doesNotMatch(r.body.toString(), /secret|outside the root|ran page|echo "Content-Type/, path);
      }
    } finally {
      await s.close();
      unlinkSync(rules);
    }
    for (const spa of ['.secret.html', 'leak.html', 'viascript.html', 'cgi-bin/page.html']) {
      const s2 = await startServer({ root, spa });
      try {
        const r = await request(s2.port, '/some/route', html);
        assert.equal(r.status, 404, spa);
        assert.doesNotMatch(r.body.toString(), /secret|outside the root|ran page|#!\/bin\/sh/, spa);
      } finally {
        await s2.close();
      }
    }
    symlinkSync(join(outside, 'leak.html'), join(root, '404.html'));
    try {
      const s3 = await startServer({ root });
      try {
        const r = await request(s3.port, '/nowhere');
        assert.equal(r.status, 404);
        assert.doesNotMatch(r.body.toString(), /outside the root/, 'a 404.html symlinked out of the root is not served');
      } finally {
        await s3.close();
      }
    } finally {
      unlinkSync(join(root, '404.html'));
    }
  });

  test('cleanUrls: /about serves about.html, /about.html and /docs/index.html redirect (301) with the query kept', async () => {
    const s = await startServer({ root, cleanUrls: true });
    try {
      assert.equal((await request(s.port, '/about')).body.toString(), 'about page');
      const r = await request(s.port, '/about.html?x=1');
      assert.equal(r.status, 301);
      assert.equal(r.headers.location, '/about?x=1');
      assert.equal((await request(s.port, '/docs/index.html')).headers.location, '/docs/');
      assert.equal((await request(s.port, '/index.html')).headers.location, '/');
      const script = await request(s.port, '/cgi-bin/page.html');
      assert.equal(script.status, 200, 'scripts are not redirected');
      assert.match(script.body.toString(), /ran page/);
      const post = await request(s.port, '/about.html', { method: 'POST' });
      assert.equal(post.status, 405, 'only GET and HEAD are redirected');
      assert.equal(post.headers.location, undefined);
    } finally {
      await s.close();
    }
  });
});

describe('redirects and rewrites', () => {
  let root;
  let marker;
  const rules = {
    redirects: [
      { source: '/old/:path*', destination: '/new/:path*' },
      { source: '/moved', destination: '/here', status: 308 },
      { source: '/go/:target', destination: '/:target' },
      { source: '/goall/:rest*', destination: '/:rest*', status: 302 },
      { source: '/ext/:id', destination: 'https://example.com/items/:id' },
      { source: '/loop-a', destination: '/loop-b' },
      { source: '/loop-b', destination: '/loop-a' },
      { source: '/self', destination: '/self' },
    ],
    rewrites: [
      { source: '/api/:rest*', destination: '/cgi-bin/echo.sh/:rest*' },
      { source: '/page/:name', destination: '/pages/:name.txt' },
      { source: '/files/:rest*', destination: '/static/:rest*' },
      { source: '/data.txt', destination: '/pages/one.txt' },
      { source: '/ra', destination: '/rb' },
      { source: '/rb', destination: '/ra' },
      { source: '/hop0', destination: '/hop1' }, { source: '/hop1', destination: '/hop2' }, { source: '/hop2', destination: '/hop3' },
      { source: '/hop3', destination: '/hop4' }, { source: '/hop4', destination: '/hop5' }, { source: '/hop5', destination: '/hop6' },
      { source: '/hop6', destination: '/hop7' }, { source: '/hop7', destination: '/hop8' }, { source: '/hop8', destination: '/hop9' },
      { source: '/hop9', destination: '/hop10' }, { source: '/hop10', destination: '/hop11' }, { source: '/hop11', destination: '/pages/one.txt' },
    ],
  };
  before(() => {
    root = tempDir();
    marker = join(root, 'ran');
    writeTree(root, {
      'cgi-bin/echo.sh': ECHO_SCRIPT(marker),
      'pages/one.txt': 'one',
      'static/a.txt': 'static a',
      'data.txt': 'the real data',
      'scriptserve.json': JSON.stringify(rules),
    });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('redirects: captured segments, status, query kept, absolute destinations', async () => {
    const s = await startServer({ root });
    try {
      let r = await request(s.port, '/old/a/b%20c?q=1');
      assert.equal(r.status, 301);
      assert.equal(r.headers.location, '/new/a/b%20c?q=1');
      assert.equal((await request(s.port, '/old')).headers.location, '/new');
      r = await request(s.port, '/moved', { method: 'POST' });
      assert.equal(r.status, 308);
      assert.equal(r.headers.location, '/here');
      r = await request(s.port, '/ext/42');
      assert.equal(r.headers.location, 'https://example.com/items/42');
    } finally {
      await s.close();
    }
  });

  test('hostile: a captured //evil.example never becomes a scheme-relative Location', async () => {
    const s = await startServer({ root });
    try {
      for (const path of ['/go//evil.example', '/go/%2F%2Fevil.example', '/go/%2Fevil.example', '/goall//evil.example/x', '/goall/%2F%2Fevil.example', '/go/%5C%5Cevil.example']) {
        const r = await request(s.port, path);
        const location = r.headers.location;
        if (location !== undefined) {
          assert.match(location, /^\/[^/\\]/, `${path} → ${location}`);
        }
        // Follow the canonical-path redirect once: the rule's answer must be local too.
        if (r.status === 301 && location.startsWith('/go')) {
          const next = await request(s.port, location);
          assert.match(next.headers.location ?? '/x', /^\/[^/\\]/, `${location} → ${next.headers.location}`);
        }
      }
      assert.equal((await request(s.port, '/goall/evil.example/x')).headers.location, '/evil.example/x');
      // Unit: whatever the captures hold, a local destination starts with exactly one slash.
      const rule = { destination: '/:rest*', absolute: false, names: new Set(['rest']) };
      assert.equal(buildDestination(rule, { rest: ['', '', 'evil.example'] }, ''), '/evil.example');
      assert.equal(buildDestination(rule, { rest: ['/evil.example'] }, ''), '/%2Fevil.example');
      assert.equal(buildDestination({ destination: '/:a', absolute: false, names: new Set(['a']) }, { a: '//evil.example' }, ''), '/%2F%2Fevil.example');
    } finally {
      await s.close();
    }
  });

  test('hostile: a redirect loop is 508 with a log line, not a browser loop', async () => {
    const s = await startServer({ root });
    try {
      for (const path of ['/loop-a', '/self']) {
        const r = await request(s.port, path);
        assert.equal(r.status, 508, path);
        assert.ok(s.logs.some((l) => l.includes(`redirect loop`) && l.includes(path)), s.logs.join('\n'));
      }
    } finally {
      await s.close();
    }
  });

  test('rewrites: to a script (SCRIPT_NAME the target, REQUEST_URI the original), to files, only for paths that name nothing', async () => {
    const s = await startServer({ root });
    try {
      const r = await request(s.port, '/api/users/7?active=1', { method: 'POST', body: 'x' });
      assert.equal(r.status, 200);
      const env = JSON.parse(r.body);
      assert.equal(env.SCRIPT_NAME, '/cgi-bin/echo.sh');
      assert.equal(env.PATH_INFO, '/users/7');
      assert.equal(env.REQUEST_URI, '/api/users/7?active=1');
      assert.equal(env.QUERY_STRING, 'active=1');
      assert.equal(env.REQUEST_METHOD, 'POST');
      assert.equal((await request(s.port, '/page/one')).body.toString(), 'one');
      assert.equal((await request(s.port, '/files/a.txt')).body.toString(), 'static a');
      assert.equal((await request(s.port, '/data.txt')).body.toString(), 'the real data', 'an existing file wins over a rewrite');
      assert.equal((await request(s.port, '/page/none')).status, 404);
    } finally {
      await s.close();
    }
  });

  test('hostile: rewrite loops and chains longer than 10 steps are 508 with a log line; a rewrite to .. is refused', async () => {
    const s = await startServer({ root });
    try {
      const loop = await request(s.port, '/ra');
      assert.equal(loop.status, 508);
      assert.ok(s.logs.some((l) => l.includes('rewrite loop') && l.includes('/ra')));
      assert.equal((await request(s.port, '/hop0')).status, 508, 'twelve steps');
      assert.equal((await request(s.port, '/hop3')).body.toString(), 'one', 'nine steps');
      // A captured `..` cannot reach the rules: the path is refused first.
      for (const path of ['/files/%2e%2e/data.txt', '/files/../data.txt', '/files/%2E%2E/%2e%2e/etc/passwd']) {
        const r = await request(s.port, path);
        assert.equal(r.status, 400, path);
      }
    } finally {
      await s.close();
    }
    const dir = tempDir();
    try {
      for (const destination of ['/../etc/passwd', '/static/../../x', '/a/%2e%2e/b', '//evil.example/x', 'relative']) {
        assert.throws(() => resolveConfig({ root: dir, rewrites: [{ source: '/x', destination }] }), ConfigError, destination);
      }
      assert.throws(() => resolveConfig({ root: dir, rewrites: [{ source: '/x', destination: 'https://example.com/' }] }), /must be a local path/);
      assert.throws(() => resolveConfig({ root: dir, redirects: [{ source: '/x', destination: '/y', status: 200 }] }), ConfigError);
      assert.throws(() => resolveConfig({ root: dir, redirects: [{ source: '/x', destination: '/:nope' }] }), /does not capture/);
      assert.throws(() => resolveConfig({ root: dir, redirects: [{ source: 5, destination: '/y' }] }), ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("serve.json's pattern syntax, translated", () => {
    const table = [
      ['/old/:path*', '/old{/*path}'],
      ['/user/:id', '/user/:id'],
      ['/docs/:page?', '/docs{/:page}'],
      ['/all/:rest+', '/all/*rest'],
      ['/assets/**', '/assets{/*__any0}'],
      ['/:file.html', '/:file.html'],
      ['/a(b)', '/a\\(b\\)'],
      ['no-slash', '/no-slash'],
    ];
    for (const [source, expected] of table) assert.equal(translateSource(source), expected, source);
  });
});

describe('--base-path', () => {
  let root;
  let marker;
  let s;
  before(async () => {
    root = tempDir();
    marker = join(root, 'ran');
    writeTree(root, {
      'index.html': 'home',
      'dir/a.txt': 'a',
      'cgi-bin/echo.sh': ECHO_SCRIPT(marker),
      'scriptserve.json': JSON.stringify({ redirects: [{ source: '/old', destination: '/dir/' }] }),
    });
    s = await startServer({
      root,
      basePath: '/app/',
      allowOrigins: ['https://app.example'],
      routes: [{ method: 'GET', path: '/hello', command: ['/bin/echo', 'hi'] }],
    });
  });
  after(async () => {
    await s?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('everything lives below the prefix; outside it is 404', async () => {
    assert.equal((await request(s.port, '/app/')).body.toString(), 'home');
    assert.equal((await request(s.port, '/app/dir/a.txt')).body.toString(), 'a');
    assert.equal((await request(s.port, '/app/hello')).body.toString(), 'hi\n');
    for (const path of ['/', '/index.html', '/dir/a.txt', '/hello', '/cgi-bin/echo.sh', '/application/', '/APP/', '/%61pp/']) {
      assert.equal((await request(s.port, path)).status, 404, path);
    }
    const bare = await request(s.port, '/app?x=1');
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.location, '/app/?x=1');
  });

  test('listings, redirects, SCRIPT_NAME and configured redirects include the prefix; REQUEST_URI is as received', async () => {
    const dirRedirect = await request(s.port, '/app/dir');
    assert.equal(dirRedirect.headers.location, '/app/dir/');
    const canonical = await request(s.port, '/app//dir/');
    assert.equal(canonical.headers.location, '/app/dir/');
    const listing = await request(s.port, '/app/dir/');
    assert.match(listing.body.toString(), /Index of \/app\/dir\//);
    const json = await request(s.port, '/app/dir/', { headers: { Accept: 'application/json' } });
    assert.equal(JSON.parse(json.body).path, '/app/dir/');
    assert.equal((await request(s.port, '/app/old')).headers.location, '/app/dir/');
    const env = JSON.parse((await request(s.port, '/app/cgi-bin/echo.sh/x?y=1')).body);
    assert.equal(env.SCRIPT_NAME, '/app/cgi-bin/echo.sh');
    assert.equal(env.PATH_INFO, '/x');
    assert.equal(env.REQUEST_URI, '/app/cgi-bin/echo.sh/x?y=1');
  });

  test('preflights and CORS headers work below the prefix; outside it too is 404', async () => {
    const p = await request(s.port, '/app/cgi-bin/echo.sh', preflight('https://app.example'));
    assert.equal(p.status, 204);
    const outside = await request(s.port, '/cgi-bin/echo.sh', preflight('https://app.example'));
    assert.equal(outside.status, 404);
    assert.match(outside.headers.vary, /Origin/);
  });

  test('belowBasePath and localLocation, one row per case', () => {
    const table = [
      ['/app/x?q=1', { kind: 'inside', url: '/x?q=1' }],
      ['/app/', { kind: 'inside', url: '/' }],
      ['/app', { kind: 'slash', location: '/app/' }],
      ['/app?q', { kind: 'slash', location: '/app/?q' }],
      ['/application', { kind: 'outside' }],
      ['/ap', { kind: 'outside' }],
      ['/', { kind: 'outside' }],
      ['http://host/app/x', { kind: 'inside', url: '/x' }],
      ['http://host', { kind: 'outside' }],
      ['*', { kind: 'inside', url: '*' }],
      ['garbage', { kind: 'outside' }],
    ];
    for (const [target, expected] of table) assert.deepEqual(belowBasePath('/app', target), expected, target);
    assert.equal(localLocation('/app', '/app/x'), '/x');
    assert.equal(localLocation('/app', '/other'), '/other');
    assert.equal(localLocation('', '/app/x'), '/app/x');
  });

  test('OriginList, one row per case', () => {
    const list = new OriginList(['https://App.Example', 'http://*.localhost:3000', 'https://*.example.com']);
    const table = [
      ['https://app.example', true], ['https://app.example:443', false], ['http://app.example', false],
      ['http://a.localhost:3000', true], ['http://localhost:3000', false], ['http://a.localhost:3001', false],
      ['https://x.example.com', true], ['https://x_y.example.com', false], ['https://.example.com', false],
    ];
    for (const [origin, allowed] of table) assert.equal(list.has(origin), allowed, origin);
    assert.equal(list.size, 3);
  });

  test('a bad base path is a start-up error', () => {
    for (const bad of ['app', '/a/../b', '/a?b', '/a%2fb']) assert.throws(() => resolveConfig({ root, basePath: bad }), ConfigError, bad);
    assert.equal(resolveConfig({ root, basePath: '/' }).basePath, '');
    assert.equal(resolveConfig({ root, basePath: '/my app/' }).basePath, '/my%20app');
  });
});

test('createServer accepts the new options through the library', () => {
  const root = tempDir();
  try {
    const server = createServer({ root, spa: true, ext: 'html', headers: [{ source: '**', headers: { 'X-A': '1' } }], basePath: '/x', cors: true });
    server.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
