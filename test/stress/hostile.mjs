// Categories 1–6 of the stress suite: hostile input (paths, script paths,
// headers, protocol, ranges, listings and logs). Each takes a scale
// ('full' for npm run test:stress, 'fast' for npm test) and returns a Category.
import { randomBytes } from 'node:crypto';
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  Conn,
  HELLO,
  fetchOnce,
  get,
  internalsShown,
  makeSite,
  parseAll,
  prng,
  py,
  runCategory,
  sendRaw,
  warmUp,
  serverEnv,
  settle,
  sh,
  sleep,
  startProbe,
  startStressServer,
} from './lib.mjs';

const FULL = 'full';
const BASE_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Check what every answer must be: well-formed, a status in `allowed`, no internals, a local Location. */
function checkAnswer(cat, r, label, { allowed = (s) => s >= 200 && s < 500, rootPath, markers = [] } = {}) {
  if (r.error) {
    cat.fail(`${label}: ${r.error}`);
    return false;
  }
  cat.tally(r.status);
  cat.check(allowed(r.status), () => `${label}: status ${r.status}`);
  const text = r.statusLine + '\n' + Object.entries(r.headers).map(([k, v]) => `${k}: ${v.join(', ')}`).join('\n') + '\n\n' + r.body.toString('latin1');
  for (const m of markers) if (text.includes(m)) cat.fail(`${label}: LEAK of ${m} (status ${r.status})`);
  const shown = internalsShown(text, rootPath);
  if (shown) cat.fail(`${label}: the answer shows ${shown}`);
  if (r.status >= 300 && r.status < 400) {
    const loc = r.headers.location ?? [];
    cat.check(loc.length === 1 && /^\/(?![/\\])/.test(loc[0]), () => `${label}: redirect to ${JSON.stringify(loc)} is not a local path`);
  }
  return true;
}

const printable = (buf) => JSON.stringify(buf.toString('latin1').slice(0, 140));

// ================================================================ 1. path fuzzing

export function pathFuzz(scale) {
  const P = scale === FULL ? { count: 12000, conns: 6, budgetMs: 150000 } : { count: 1500, conns: 4, budgetMs: 25000 };
  return runCategory(1, 'path fuzzing', P.budgetMs + 30000, async (cat) => {
    const tok = randomBytes(6).toString('hex');
    const M = {
      parent: `LEAK-PARENT-${tok}`,
      sibling: `LEAK-SIBLING-${tok}`,
      outside: `LEAK-OUTSIDE-${tok}`,
      dot: `LEAK-DOTFILE-${tok}`,
      source: `LEAK-SOURCE-${tok}`,
    };
    const site = makeSite(cat, 'fuzz', {
      outside: {
        'secret.txt': M.parent + '\n',
        '.env': M.parent + '\n',
        'www-private/secret.txt': M.sibling + '\n',
        'www-private/index.html': M.sibling + '\n',
        'outside-dir/secret.txt': M.outside + '\n',
        'outside-dir/index.html': M.outside + '\n',
      },
      www: {
        'foo..bar.txt': 'foo..bar\n',
        'sub/a.txt': 'sub a\n',
        'sub/.hidden': M.dot + '\n',
        '.env': M.dot + '\n',
        '.git/config': M.dot + '\n',
        '.hidden-dir/secret.txt': M.dot + '\n',
        'cgi-bin/show.py': py(`# ${M.source}\nimport sys\nsys.stdout.write('Content-Type: text/plain\\n\\nRAN-show\\n')`),
      },
    });
    const link = (target, name) => symlinkSync(target, join(site.root, name));
    link(join(site.base, 'secret.txt'), 'out-link');
    link(join(site.base, 'outside-dir'), 'out-dir');
    link('../www-private', 'sib-link');
    link('/etc', 'etc-link');
    link('../../secret.txt', 'sub/up-link');
    link('hello.txt', 'in-link.txt');
    const PUBLIC = new Set([HELLO, 'foo..bar\n', 'sub a\n', 'RAN-show\n']);
    const markers = [...Object.values(M), 'root:x:0:0'];

    const srv = await startStressServer(cat, site.root);
    const port = srv.port;
    const jobs = generateTargets(P.count, port, cat);
    // Warm up every kind of work once, so the descriptor baseline includes what Node opens lazily.
    const fdsBefore = await warmUp(srv, ['/sub/', '/sub/a.txt', '/cgi-bin/show.py', '/nope', '/%2e%2e/x']);

    const probe = startProbe(cat, port, { expectBody: HELLO, intervalMs: 100 });
    const end = Date.now() + P.budgetMs;
    let next = 0;
    const worker = async () => {
      let conn = null;
      try {
        while (next < jobs.length && Date.now() < end && !cat.saturated) {
          const job = jobs[next++];
          const head = job.method === 'HEAD';
          const bytes = Buffer.concat([Buffer.from(`${job.method} `), job.target, Buffer.from(' HTTP/1.1\r\nHost: localhost\r\n\r\n')]);
          cat.sent++;
          let r;
          if (job.fresh) {
            r = await fetchOnce(port, bytes, { head });
          } else {
            if (!conn?.usable) {
              conn?.destroy();
              conn = await Conn.open(port).catch((err) => {
                cat.fail(`connect: ${err.message}`);
                return null;
              });
              if (!conn) continue;
            }
            r = await conn.request(bytes, { head });
          }
          const label = `${job.method} ${printable(job.target)}`;
          if (!checkAnswer(cat, r, label, { rootPath: site.base, markers })) continue;
          if (job.control !== undefined) {
            cat.check(r.status === 200 && r.body.toString() === job.control, () => `control ${label}: ${r.status}`);
          } else if (r.status === 200 && !head) {
            const body = r.body.toString('latin1');
            const listing = body.startsWith('<!DOCTYPE html>') && body.includes('<title>Index of ');
            cat.check(PUBLIC.has(body) || listing, () => `${label}: 200 with an unexpected body ${JSON.stringify(body.slice(0, 80))}`);
          }
        }
      } finally {
        conn?.destroy();
      }
    };
    await Promise.all(Array.from({ length: P.conns }, worker));
    await probe.stop();
    cat.check(next >= jobs.length || cat.saturated, () => `only ${next} of ${jobs.length} targets sent within ${P.budgetMs} ms`);
    await settle(cat, srv, { markers: [site.marker], fdsBefore });
  });
}

/** Generated attack targets (Buffers), with a positive control every 50th. */
function generateTargets(count, port, cat) {
  const seed = Number(process.env.STRESS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  cat.note(`seed ${seed} (STRESS_SEED=${seed} replays the same targets)`);
  const rnd = prng(seed);
  const DOTDOT = [
    '..', '..', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '%252e%252e', '%25%32%65%25%32%65', '%c0%ae%c0%ae',
    '%e0%80%ae%e0%80%ae', '%c0%2e%c0%2e', '%ef%bc%8e%ef%bc%8e', '\uff0e\uff0e', '\uff05\uff12\uff45\uff05\uff12\uff45',
    '%u002e%u002e', '%uff0e%uff0e', '..%00', '%2e%2e%00', '...', '..;', '..%20', '.%00.', '..%c0%af', '..%5c',
    '%2e%2e%5c', '..\\', '%252e%252e%252f', '.%2E', '%2e%2e%2f', '..%2f', '..%252f', '..%ff', '%2e%2e%3b',
  ];
  const SEP = ['/', '/', '/', '/', '%2f', '%2F', '\\', '%5c', '%5C', '%252f', '%255c', '%c0%af', '%e0%80%af', '%ef%bc%8f', '\uff0f', '//', '/./', '/%2e/', ';/', '%2f%2f', '/;/'];
  const PREFIX = [
    '/', '/', '/', '/', '', '//', '/\\', '\\', '%2f', '/%2f', '/%5c', '///', '/./', 'http://localhost/', 'http://localhost',
    `http://127.0.0.1:${port}/`, 'HTTP://LOCALHOST/', 'http://localhost//', 'http://localhost/\\', 'http:/', 'http:',
    'localhost/', 'https://localhost/', 'http://localhost:/', '*', '/?', '/#', 'http://localhost/..', 'http://localhost/%2e%2e/',
  ];
  const MIDDLE = ['', '', '', '', 'www/', 'www-private/', 'www-privatex/', 'sub/', 'cgi-bin/', 'out-dir/', 'nonexistent/', 'sub/up-link/', 'www/www/'];
  const TAIL = [
    'secret.txt', 'www-private/secret.txt', 'www-private/', 'www-private', 'www-private/index.html', 'www/.env', '.env',
    '.git/config', '.git/', 'sub/.hidden', '.hidden-dir/secret.txt', '.hidden-dir/', 'out-link', 'out-dir/secret.txt',
    'out-dir/', 'out-dir', 'sib-link/secret.txt', 'sib-link/', 'etc-link/passwd', 'etc-link/', 'etc/passwd', 'proc/self/environ',
    'sub/up-link', 'hello.txt', 'foo..bar.txt', 'in-link.txt', 'sub/a.txt', '', 'sub/', 'cgi-bin/show.py', 'cgi-bin/',
    'outside-dir/secret.txt', 'www/hello.txt', 'www/sub/.hidden',
  ];
  const SUFFIX = ['', '', '', '', '', '?x=1', '#frag', '%00', '%00.txt', '.', '/', '%20', ';x', '?/../../secret.txt', '%23', '%3f', '::$DATA', '~', '%2f', '%5c', '/.', '/..', '%2e', '%2e%2e'];
  const CONTROLS = [['/hello.txt', HELLO], ['/foo..bar.txt', 'foo..bar\n'], ['/in-link.txt', HELLO], ['/sub/a.txt', 'sub a\n']];
  const jobs = [];
  for (let i = 0; i < count; i++) {
    if (i % 50 === 49) {
      const [path, body] = CONTROLS[(i / 50) % CONTROLS.length | 0];
      jobs.push({ method: 'GET', target: Buffer.from(path), control: body });
      continue;
    }
    const method = rnd.next() < 0.1 ? 'HEAD' : 'GET';
    const kind = rnd.next();
    if (kind < 0.04) {
      // Raw random bytes: most break the request line, so each goes on its own connection.
      const len = 1 + rnd.int(30);
      const bytes = Buffer.from(Array.from({ length: len }, () => rnd.int(256)));
      jobs.push({ method, target: Buffer.concat([Buffer.from('/'), bytes]), fresh: true });
      continue;
    }
    if (kind < 0.08) {
      let s = '/';
      const len = 1 + rnd.int(24);
      for (let j = 0; j < len; j++) s += rnd.next() < 0.2 ? rnd.pick(['../', '%2e%2e/', '/']) : '%' + rnd.int(256).toString(16).padStart(2, '0');
      jobs.push({ method, target: Buffer.from(s) });
      continue;
    }
    let s = rnd.pick(PREFIX);
    const depth = rnd.int(5);
    for (let d = 0; d < depth; d++) s += rnd.pick(DOTDOT) + rnd.pick(SEP);
    s += rnd.pick(MIDDLE);
    let tail = rnd.pick(TAIL);
    if (rnd.next() < 0.3) tail = tail.split('/').join(rnd.pick(SEP));
    s += tail + rnd.pick(SUFFIX);
    if (rnd.next() < 0.03) s += '%00' + rnd.pick(TAIL);
    jobs.push({ method, target: Buffer.from(s, 'utf8') });
  }
  return jobs;
}

// ================================================================ 2. script paths

export function scriptPaths(scale) {
  return runCategory(2, 'script paths & argv', scale === FULL ? 120000 : 30000, async (cat) => {
    const tok = randomBytes(6).toString('hex');
    const SRC = `LEAK-SCRIPT-SOURCE-${tok}`;
    const site = makeSite(cat, 'scripts', {
      outside: {
        'outside.py': py(`# ${SRC}\nopen(__file__ + '.ran', 'w').write('x')\nprint('Content-Type: text/plain\\n\\nRAN-outside')`),
        'outscripts/w.py': py(`# ${SRC}\nopen(__file__ + '.ran', 'w').write('x')\nprint('Content-Type: text/plain\\n\\nRAN-outside')`),
      },
      www: {
        'cgi-bin/x.py': py(`# ${SRC}\nimport json, os, sys\nsys.stdout.write('Content-Type: text/plain\\n\\nRAN-x ARGV=' + json.dumps(sys.argv[1:]) + '\\n')`),
        'cgi-bin/x.sh': sh(`# ${SRC}\nprintf 'Content-Type: text/plain\\n\\nRAN-sh ARGC=%s\\n' "$#"`),
        'cgi-bin/.hidden.py': py(`# ${SRC}\nprint('Content-Type: text/plain\\n\\nRAN-hidden')`),
        'cgi-bin/sub/y.py': py(`# ${SRC}\nprint('Content-Type: text/plain\\n\\nRAN-y')`),
        'run-me.sh': sh(`# ${SRC}\ntouch "$0.ran"\nprintf 'Content-Type: text/plain\\n\\nRAN-outside\\n'`),
      },
    });
    symlinkSync('cgi-bin', join(site.root, 'link-cgi'));
    symlinkSync(join(site.base, 'outside.py'), join(site.scripts, 'escape.py'));
    symlinkSync(join(site.base, 'outscripts'), join(site.scripts, 'outdir'));
    const pwned = join(site.base, 'pwned');
    // .py through an interpreter mapping (argv: python3 script), .sh through its shebang (argv: script).
    const srv = await startStressServer(cat, site.root, ['--interpreter', '.py=/usr/bin/python3']);
    const port = srv.port;
    const fdsBefore = await warmUp(srv, ['/cgi-bin/x.sh', '/cgi-bin/x.py']);
    const probe = startProbe(cat, port, { expectBody: HELLO, intervalMs: 100 });

    const spellings = (f) => {
      const [stem, ext] = f.split('.');
      return [
        `/cgi-bin/${f}`, `/cgi-bin/./${f}`, `/cgi-bin//${f}`, `//cgi-bin/${f}`, `/CGI-BIN/${f}`, `/Cgi-Bin/${f}`, `/cgi-bin/${f.toUpperCase()}`,
        `/cgi-bin/%2e/${f}`, `/cgi-bin/%2E/${f}`, `/%63gi-bin/${f}`, `/cgi%2dbin/${f}`, `/cgi-bin%2f${f}`, `/cgi-bin%2F${f}`, `/cgi-bin/${f}.`,
        `/cgi-bin/${f}/`, `/cgi-bin/${f}%20`, `/cgi-bin/${f}%00`, `/cgi-bin/${f}%00.txt`, `/cgi-bin/${f}::$DATA`, `/cgi-bin/${f};.txt`,
        `/cgi-bin/${f}~`, `/cgi-bin/${f}.bak`, `/cgi-bin/${f}?`, `/cgi-bin/${f}#`, `/cgi-bin/sub/../${f}`, `/cgi-bin/sub/%2e%2e/${f}`,
        `/htbin/../cgi-bin/${f}`, `/./cgi-bin/${f}`, `/cgi-bin\\${f}`, `/cgi-bin%5c${f}`, `http://localhost/cgi-bin/${f}`,
        `/cgi-bin/${f}/extra`, `/cgi-bin/${f}%2fextra`, `/link-cgi/${f}`, `/link-cgi/./${f}`, `/LINK-CGI/${f}`, `/cgi-bin/./sub/../${f}`,
        `/cgi-bin/${stem}%2e${ext}`, `/cgi-bin/${stem}.${ext}.`, `/cgi-bin/${stem}.${ext}%2e`, `/cgi-bin/${stem}%2E${ext.toUpperCase()}`,
        `/cgi-bin/%78${f.slice(1)}`, `/cgi-bin/./././${f}`, `/cgi-bin/%2f${f}`, `/cgi-bin/${f}%3f`, `/cgi-bin/${f}%23`,
        `/cgi-bin/${f}%0a`, `/cgi-bin/${f}%0d%0a`, `/cgi-bin/${f}%ff`, `/cgi-bin/${f}\uff0e`, `/cgi-bin/${f}/.`,
      ];
    };
    const variants = [
      { method: 'GET', headers: {} },
      { method: 'HEAD', headers: {} },
      { method: 'GET', headers: { Range: 'bytes=0-' } },
      { method: 'GET', headers: { Range: 'bytes=0-15' } },
      { method: 'GET', headers: { Range: 'bytes=-20' } },
      { method: 'GET', headers: { Range: 'bytes=0-0,5-9', 'If-Range': '"x"' } },
      { method: 'GET', headers: { Accept: 'application/json' } },
      { method: 'GET', headers: { 'If-None-Match': '*' } },
      { method: 'POST', headers: {}, body: 'a=1' },
      { method: 'OPTIONS', headers: {} },
    ];
    const files = scale === FULL ? ['x.py', 'x.sh', '.hidden.py', 'escape.py', 'outdir/w.py', 'sub/y.py'] : ['x.py', 'x.sh', 'escape.py'];
    const targets = files.flatMap(spellings);
    if (scale !== FULL) variants.splice(3);
    const markers = [SRC];
    const conn = { c: null };
    const send = async (target, v) => {
      if (!conn.c?.usable) {
        conn.c?.destroy();
        conn.c = await Conn.open(port);
      }
      cat.sent++;
      return conn.c.request(get(target, { method: v.method, headers: v.headers, body: v.body }), { head: v.method === 'HEAD' });
    };
    try {
      for (const target of targets) {
        if (cat.saturated) break;
        for (const v of variants) {
          const label = `${v.method} ${target} ${JSON.stringify(v.headers)}`;
          const r = await send(target, v);
          // A script that runs answers 200 (HEAD: no body); nothing else may be 5xx.
          if (!checkAnswer(cat, r, label, { rootPath: site.base, markers })) continue;
          if (r.status === 200 && v.method === 'GET') {
            cat.check(/^RAN-(x|sh|y) /.test(r.body.toString()) || /^RAN-y/.test(r.body.toString()), () => `${label}: 200 that is not the script's output: ${printable(r.body)}`);
          }
          if (r.status === 200 || r.status === 206) cat.check(!/RAN-(outside|hidden)/.test(r.body.toString()), `${label}: a file outside the script directory ran`);
        }
      }
      // Query strings and PATH_INFO never become argv (CVE-2012-1823): no '=' makes RFC 3875 4.4 tempt servers.
      const queries = [
        '-s', '-d+allow_url_include%3d1+-d+auto_prepend_file%3dphp://input', '-n', '--help', '-c+print(1)', '%2ds', '-h', '-v', '-i',
        '-e', '-x', '-s+-v', 'a+-s', '-dallow_url_include=1', '+-s', '%20-s', '-c%20/etc/passwd', '-%73', '-m+http.server', '-W+error',
        `;touch+${pwned}`, `%24(touch+${pwned})`, `%60touch+${pwned}%60`, `|touch+${pwned}`, `x%0atouch+${pwned}`,
      ];
      for (const [path, expect] of [['/cgi-bin/x.py', 'RAN-x ARGV=[]'], ['/cgi-bin/x.sh', 'RAN-sh ARGC=0']]) {
        for (const q of queries) {
          for (const target of [`${path}?${q}`, `${path}/${q.replace(/[?/]/g, '_')}`]) {
            const r = await send(target, { method: 'GET', headers: { 'X-Cmd': `$(touch ${pwned})`, 'User-Agent': `() { :; }; touch ${pwned}` } });
            if (!checkAnswer(cat, r, `GET ${target}`, { rootPath: site.base, markers })) continue;
            cat.check(r.status === 200 && r.body.toString().trim() === expect, () => `GET ${target}: ${r.status} ${printable(r.body)} (expected ${expect})`);
          }
        }
      }
    } finally {
      conn.c?.destroy();
    }
    await probe.stop();
    for (const f of [pwned, join(site.base, 'outside.py.ran'), join(site.base, 'outscripts/w.py.ran'), join(site.root, 'run-me.sh.ran')]) {
      cat.check(!existsSync(f), `${f} exists: something ran that never should`);
    }
    await settle(cat, srv, { markers: [site.marker], fdsBefore });
  });
}

// ================================================================ 3. headers

export function headerAbuse(scale) {
  return runCategory(3, 'header abuse', scale === FULL ? 60000 : 20000, async (cat) => {
    const bad = {
      'cr-value': `printf 'Content-Type: text/plain\\nX-A: a\\rSet-Cookie: injected=1\\n\\nINJECTED\\n'`,
      'nul-value': `printf 'Content-Type: text/plain\\nX-A: a\\000b\\n\\nINJECTED\\n'`,
      'space-name': `printf 'Content-Type: text/plain\\nX A: b\\n\\nINJECTED\\n'`,
      'paren-name': `printf 'Content-Type: text/plain\\n(X): b\\n\\nINJECTED\\n'`,
      'latin1-name': `printf 'Content-Type: text/plain\\nX-\\351: b\\n\\nINJECTED\\n'`,
      'empty-name': `printf 'Content-Type: text/plain\\n: b\\n\\nINJECTED\\n'`,
      'no-colon': `printf 'Content-Type: text/plain\\nSet-Cookie injected\\n\\nINJECTED\\n'`,
      'status-cr': `printf 'Status: 200 OK\\rSet-Cookie: injected=1\\nContent-Type: text/plain\\n\\nINJECTED\\n'`,
      'status-esc': `printf 'Status: 200 \\033[31mred\\nContent-Type: text/plain\\n\\nINJECTED\\n'`,
      'status-nul': `printf 'Status: 200 O\\000K\\nContent-Type: text/plain\\n\\nINJECTED\\n'`,
      'status-bad': `printf 'Status: 099\\nContent-Type: text/plain\\n\\nINJECTED\\n'`,
      'location-cr': `printf 'Location: http://localhost/x\\rSet-Cookie: injected=1\\n\\nINJECTED\\n'`,
      'type-nul': `printf 'Content-Type: text/html\\000\\n\\nINJECTED\\n'`,
      'del-value': `printf 'Content-Type: text/plain\\nX-A: \\177\\n\\nINJECTED\\n'`,
      'esc-value': `printf 'Content-Type: text/plain\\nX-A: \\033]0;pwned\\007\\n\\nINJECTED\\n'`,
      'vt-value': `printf 'Content-Type: text/plain\\nX-A: a\\013b\\n\\nINJECTED\\n'`,
      'cl-list': `printf 'Content-Type: text/plain\\nContent-Length: 9, 9\\n\\nINJECTED\\n'`,
      'cl-double': `printf 'Content-Type: text/plain\\nContent-Length: 9\\nContent-Length: 99\\n\\nINJECTED\\n'`,
      'folded': `printf 'Content-Type: text/plain\\nX-A: a\\n Set-Cookie: injected=1\\n\\nINJECTED\\n'`,
    };
    const www = {
      'cgi-bin/env.py': py(`import os, sys\nsys.stdout.write('Content-Type: text/plain\\n\\n' + ''.join('%s=%s\\n' % (k, os.environ[k]) for k in sorted(os.environ)))`),
      'cgi-bin/good.sh': sh(`printf 'Content-Type: text/plain\\nX-Ok: fine\\n\\ngood\\n'`),
    };
    for (const [name, body] of Object.entries(bad)) www[`cgi-bin/bad-${name}.sh`] = sh(body);
    const site = makeSite(cat, 'headers', { www });
    const { env } = serverEnv(cat, { PATH: BASE_PATH });
    const srv = await startStressServer(cat, site.root, [], { env });
    const port = srv.port;
    const fdsBefore = await warmUp(srv, ['/cgi-bin/good.sh']);
    const probe = startProbe(cat, port, { expectBody: HELLO, intervalMs: 100 });
    const rounds = scale === FULL ? 20 : 3;

    const forged = {
      'Remote-Addr': '6.6.6.6', 'Path': '/evil', 'Script-Name': '/evil', 'Script-Filename': '/evil', 'Query-String': 'evil',
      'Request-Method': 'EVIL', 'Server-Software': 'evil', 'Gateway-Interface': 'evil', 'Document-Root': '/evil', 'Remote-User': 'admin',
      'Auth-Type': 'Basic', 'Https': 'on', 'Redirect-Status': '999', 'Path-Info': '/evil', 'Path-Translated': '/evil',
      'Proxy': 'http://127.0.0.1:9/', 'Proxy-Authorization': 'Basic ZXZpbDpldmls', 'X_Forwarded_For': '6.6.6.6', 'Remote_Addr': '6.6.6.6',
      'LD_PRELOAD': '/evil.so', 'Content-Type': 'text/evil', 'Server-Port': '1', 'Remote-Port': '1',
    };
    for (let round = 0; round < rounds; round++) {
      cat.sent++;
      const r = await fetchOnce(port, get('/cgi-bin/env.py?q=1', { headers: forged }));
      if (!checkAnswer(cat, r, 'env.py with forged headers', { rootPath: null })) continue;
      const vars = Object.fromEntries(r.body.toString().split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const want = {
        REMOTE_ADDR: '127.0.0.1', PATH: BASE_PATH, SCRIPT_NAME: '/cgi-bin/env.py', SCRIPT_FILENAME: join(site.scripts, 'env.py'),
        QUERY_STRING: 'q=1', REQUEST_METHOD: 'GET', GATEWAY_INTERFACE: 'CGI/1.1', DOCUMENT_ROOT: site.root, AUTH_TYPE: '',
        REDIRECT_STATUS: '200', PATH_INFO: '', HTTP_REMOTE_ADDR: '6.6.6.6', HTTP_PATH: '/evil', SERVER_PORT: String(port),
        CONTENT_TYPE: 'text/evil',
      };
      for (const [k, v] of Object.entries(want)) cat.check(vars[k] === v, () => `env ${k}=${JSON.stringify(vars[k])}, expected ${JSON.stringify(v)}`);
      for (const k of ['HTTP_PROXY', 'HTTP_PROXY_AUTHORIZATION', 'REMOTE_USER', 'HTTPS', 'LD_PRELOAD', 'HTTP_X_FORWARDED_FOR', 'PATH_TRANSLATED']) {
        cat.check(!(k in vars), () => `env has ${k}=${vars[k]}`);
      }
      cat.check(vars.REMOTE_PORT !== '1' && vars.SERVER_SOFTWARE !== 'evil', 'a header set REMOTE_PORT or SERVER_SOFTWARE');

      for (const name of Object.keys(bad)) {
        cat.sent++;
        const b = await fetchOnce(port, get(`/cgi-bin/bad-${name}.sh`));
        if (!checkAnswer(cat, b, `bad-${name}.sh`, { allowed: (s) => s === 502, rootPath: site.base })) continue;
        const text = JSON.stringify(b.headers) + b.body.toString('latin1');
        cat.check(!/injected|INJECTED|pwned|x-a/i.test(text), () => `bad-${name}.sh: script output reached the client: ${text.slice(0, 200)}`);
      }
      cat.sent++;
      const good = await fetchOnce(port, get('/cgi-bin/good.sh'));
      if (checkAnswer(cat, good, 'good.sh')) cat.check(good.status === 200 && good.headers['x-ok']?.[0] === 'fine', `good.sh: ${good.status}`);
    }
    // Request headers the parser must refuse outright.
    const rawCases = [
      ['CR in a value', 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-A: a\rb\r\n\r\n'],
      ['NUL in a value', 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-A: a\0b\r\n\r\n'],
      ['space in a name', 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX A: b\r\n\r\n'],
      ['obs-fold', 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-A: a\r\n b\r\n\r\n'],
      ['no colon', 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-A\r\n\r\n'],
      ['two Hosts', 'GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n'],
      ['no Host', 'GET /hello.txt HTTP/1.1\r\n\r\n'],
    ];
    for (const [what, data] of rawCases) {
      cat.sent++;
      const { buf } = await sendRaw(port, Buffer.from(data, 'latin1'));
      const [r] = parseAll(buf);
      if (!r) {
        cat.fail(`${what}: no answer`);
        continue;
      }
      checkAnswer(cat, r, what, { allowed: (s) => s === 400, rootPath: site.base });
    }
    await probe.stop();
    await settle(cat, srv, { markers: [site.marker], fdsBefore });
  });
}

// ================================================================ 4. protocol

export function protocol(scale) {
  return runCategory(4, 'protocol & smuggling', scale === FULL ? 120000 : 30000, async (cat) => {
    const site = makeSite(cat, 'protocol', {
      www: { 'cgi-bin/echo.py': py(`import os, sys\nn = int(os.environ.get('CONTENT_LENGTH') or 0)\nd = sys.stdin.buffer.read(n)\nsys.stdout.write('Content-Type: text/plain\\n\\nGOT %d\\n' % len(d))`) },
    });
    const { env } = serverEnv(cat);
    // Not quiet: the access log shows every request that reached a handler.
    const srv = await startStressServer(cat, site.root, [], { quiet: false, env });
    const port = srv.port;
    const fdsBefore = await warmUp(srv, [get('/cgi-bin/echo.py', { method: 'POST', body: 'x' })]);
    const probe = startProbe(cat, port, { expectBody: HELLO, intervalMs: 100 });
    const tok = randomBytes(5).toString('hex');
    let n = 0;
    const smuggled = () => `GET /SMUGGLED-${tok}-${++n} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
    const post = (headers, body) => `POST /cgi-bin/echo.py HTTP/1.1\r\nHost: localhost\r\n${headers.map((h) => h + '\r\n').join('')}\r\n${body}`;
    const refused4xx = (s) => s >= 400 && s < 500;
    const refusedAny = (s) => (s >= 400 && s < 500) || s === 501 || s === 505;
    const S = () => smuggled();
    const cases = [
      // Framing ambiguities: the trailing request is body under one reading, a second request under another.
      ['CL+TE', () => post(['Content-Length: 4', 'Transfer-Encoding: chunked'], `0\r\n\r\n${S()}`), refused4xx],
      ['TE+CL', () => post(['Transfer-Encoding: chunked', 'Content-Length: 60'], `0\r\n\r\n${S()}`), refused4xx],
      ['TE chunked, identity', () => post(['Transfer-Encoding: chunked, identity'], `0\r\n\r\n${S()}`), refused4xx],
      ['TE identity, chunked + CL', () => post(['Transfer-Encoding: identity, chunked', 'Content-Length: 3'], `0\r\n\r\n${S()}`), refused4xx],
      ['TE xchunked', () => post(['Transfer-Encoding: xchunked'], `0\r\n\r\n${S()}`), refused4xx],
      ['TE xchunked + CL', () => post(['Content-Length: 5', 'Transfer-Encoding: xchunked'], `0\r\n\r\n${S()}`), refused4xx],
      ['TE chunkedx', () => post(['Transfer-Encoding: chunkedx'], `0\r\n\r\n${S()}`), refused4xx],
      ['TE obs-fold', () => post(['Transfer-Encoding:', ' chunked'], `0\r\n\r\n${S()}`), refused4xx],
      ['TE after a folded CL', () => post(['Content-Length: 5', ' Transfer-Encoding: chunked'], `0\r\n\r\n${S()}`), refused4xx],
      ['space before colon', () => post(['Transfer-Encoding : chunked', 'Content-Length: 5'], `0\r\n\r\n${S()}`), refused4xx],
      ['tab before colon', () => post(['Transfer-Encoding\t: chunked'], `0\r\n\r\n${S()}`), refused4xx],
      ['two TE headers', () => post(['Transfer-Encoding: chunked', 'Transfer-Encoding: x'], `0\r\n\r\n${S()}`), refused4xx],
      ['TE vertical tab', () => post(['Transfer-Encoding: \x0bchunked'], `0\r\n\r\n${S()}`), refused4xx],
      ['TE with NUL', () => post(['Transfer-Encoding: chunked\0'], `0\r\n\r\n${S()}`), refused4xx],
      ['TE on HTTP/1.0', () => `POST /cgi-bin/echo.py HTTP/1.0\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n${S()}`, refused4xx],
      ['two different CLs', () => post(['Content-Length: 4', 'Content-Length: 60'], `abcd${S()}`), refused4xx],
      ['two equal CLs', () => post(['Content-Length: 60', 'Content-Length: 60'], `abcd${S()}`), refused4xx],
      ['CL list', () => post(['Content-Length: 4, 60'], `abcd${S()}`), refused4xx],
      ['CL +4', () => post(['Content-Length: +4'], `abcd${S()}`), refused4xx],
      ['CL -1', () => post(['Content-Length: -1'], `abcd${S()}`), refused4xx],
      ['CL 0x4', () => post(['Content-Length: 0x4'], `abcd${S()}`), refused4xx],
      ['CL 4 4', () => post(['Content-Length: 4 4'], `abcd${S()}`), refused4xx],
      ['CL 4.0', () => post(['Content-Length: 4.0'], `abcd${S()}`), refused4xx],
      ['CL overflow', () => post(['Content-Length: 184467440737095516160'], `abcd${S()}`), refused4xx],
      ['CL empty', () => post(['Content-Length:'], `abcd${S()}`), refused4xx],
      ['chunk size zz', () => post(['Transfer-Encoding: chunked'], `zz\r\nabcd\r\n0\r\n\r\n${S()}`), refused4xx],
      ['chunk size -1', () => post(['Transfer-Encoding: chunked'], `-1\r\nabcd\r\n0\r\n\r\n${S()}`), refused4xx],
      ['chunk size 0x4', () => post(['Transfer-Encoding: chunked'], `0x4\r\nabcd\r\n0\r\n\r\n${S()}`), refused4xx],
      ['chunk size overflow', () => post(['Transfer-Encoding: chunked'], `ffffffffffffffffffff\r\nabcd\r\n0\r\n\r\n${S()}`), refused4xx],
      ['chunk size space', () => post(['Transfer-Encoding: chunked'], ` 4\r\nabcd\r\n0\r\n\r\n${S()}`), refused4xx],
      ['chunk longer than its size', () => post(['Transfer-Encoding: chunked'], `2\r\nabcd\r\n0\r\n\r\n${S()}`), refused4xx],
      ['chunk without CRLF', () => post(['Transfer-Encoding: chunked'], `4\r\nabcd0\r\n\r\n${S()}`), refused4xx],
      ['chunk LF only', () => post(['Transfer-Encoding: chunked'], `4\nabcd\n0\n\n${S()}`), refused4xx],
      ['huge chunk extension', () => post(['Transfer-Encoding: chunked'], `4;${'a'.repeat(200000)}\r\nabcd\r\n0\r\n\r\n${S()}`), refused4xx],
      // Legal framing, no smuggling possible: a 200 is as right as a refusal.
      ['many small chunk extensions', () => post(['Transfer-Encoding: chunked'], `${'1;a=b\r\nx\r\n'.repeat(20000)}0\r\n\r\n`), (s) => s === 200 || refused4xx(s)],
      ['huge trailer', () => post(['Transfer-Encoding: chunked'], `4\r\nabcd\r\n0\r\nX-T: ${'a'.repeat(200000)}\r\n\r\n${S()}`), refused4xx],
      ['bare LF lines', () => `GET /hello.txt HTTP/1.1\nHost: localhost\n\n${S()}`, refusedAny],
      ['bare CR lines', () => `GET /hello.txt HTTP/1.1\rHost: localhost\r\r${S()}`, refusedAny],
      ['HTTP/2 preface', () => `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n${S()}`, refusedAny],
      ['HTTP/2 preface + frames', () => `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00${S()}`, refusedAny],
      ['TLS ClientHello', () => `\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03${'\x00'.repeat(40)}${S()}`, refusedAny],
      ['oversized header (431)', () => `GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n${S()}`, (s) => s === 431],
      ['oversized URL (414)', () => `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`, (s) => s === 414],
      ['huge URL', () => `GET /${'a'.repeat(40000)} HTTP/1.1\r\nHost: localhost\r\n\r\n${S()}`, (s) => s === 414 || s === 431],
      ['101 headers (431)', () => `GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n${Array.from({ length: 100 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`, (s) => s === 431],
      ['3000 headers', () => `GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n${Array.from({ length: 3000 }, (_, i) => `X${i}: v\r\n`).join('')}\r\n${S()}`, (s) => s === 431],
      ['CONNECT', () => `CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: localhost\r\n\r\n${S()}`, (s) => s === 501 || s === 405 || s === 400],
      ['TRACE', () => `TRACE / HTTP/1.1\r\nHost: localhost\r\n\r\n`, (s) => s === 501 || s === 405],
      ['TRACE *', () => `TRACE * HTTP/1.1\r\nHost: localhost\r\n\r\n`, (s) => s === 501 || s === 405 || s === 400],
      ['lowercase method', () => `get /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n${S()}`, refusedAny],
      ['unknown method', () => `FOO /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n`, (s) => s === 501 || s === 405 || s === 400],
      ['1000-char method', () => `${'A'.repeat(1000)} / HTTP/1.1\r\nHost: localhost\r\n\r\n${S()}`, refusedAny],
      ['HTTP/9.9', () => `GET / HTTP/9.9\r\nHost: localhost\r\n\r\n${S()}`, refusedAny],
      ['HTTP/1.1 extra', () => `GET / HTTP/1.1 extra\r\nHost: localhost\r\n\r\n${S()}`, refusedAny],
      // Node takes a request line without a version as HTTP/0.9 (answer, then close): nothing after it may run.
      ['no version', () => `GET /\r\nHost: localhost\r\n\r\n${S()}`, (s) => s === 200 || refusedAny(s)],
      // Node tolerates a doubled space; the request is unambiguous, so a 200 is no smuggling.
      ['two spaces', () => `GET  / HTTP/1.1\r\nHost: localhost\r\n\r\n`, (s) => s === 200 || refusedAny(s)],
      ['tab separator', () => `GET\t/ HTTP/1.1\r\nHost: localhost\r\n\r\n${S()}`, refusedAny],
      ['NUL in method', () => `G\0ET / HTTP/1.1\r\nHost: localhost\r\n\r\n${S()}`, refusedAny],
      // RFC 9112 2.2: empty lines before a request line are ignored.
      ['empty lines first', () => `\r\n\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n`, (s) => s === 200 || s === 400],
      ['request line of garbage', () => `\x01\x02\x03\xff\xfe garbage garbage\r\n\r\n${S()}`, refusedAny],
      ['Expect: 100-continue with a bad CL', () => post(['Expect: 100-continue', 'Content-Length: x'], `abcd${S()}`), refused4xx],
      ['Upgrade: h2c', () => `GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`, (s) => s === 200 || refusedAny(s)],
      ['Upgrade: websocket', () => `GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`, (s) => s === 200 || refusedAny(s)],
    ];
    const rounds = scale === FULL ? 5 : 1;
    const WAIT_MS = scale === FULL ? 3000 : 2000;
    const one = async ([what, build, allowed]) => {
      cat.sent++;
      const { buf, silent, closed } = await sendRaw(port, Buffer.from(build(), 'latin1'), { idleMs: 600, firstByteMs: WAIT_MS });
      const responses = parseAll(buf);
      const first = responses[0];
      if (silent) {
        cat.fail(closed ? `${what}: the server closed the connection without an answer` : `${what}: no answer within ${WAIT_MS} ms (the server holds the connection)`);
        return;
      }
      if (!checkAnswer(cat, first, what, { allowed, rootPath: site.base })) return;
      cat.check(first.status !== 500, `${what}: 500`);
      for (const extra of responses.slice(1)) {
        if (extra.error) cat.fail(`${what}: malformed second response: ${extra.error}`);
        else cat.check(extra.status >= 400, () => `${what}: a second response ${extra.status} followed`);
      }
      cat.check(srv.alive(), () => `${what}: the server died`);
      // The server is unharmed: the next request on a new connection is fine.
      cat.sent++;
      const next = await fetchOnce(port, get('/hello.txt'));
      if (checkAnswer(cat, next, `GET after ${what}`)) cat.check(next.status === 200 && next.body.toString() === HELLO, `GET after ${what}: ${next.status}`);
    };
    // Eight cases at a time, each on its own connection: the log tells afterwards whether anything slipped through.
    for (let round = 0; round < rounds && !cat.saturated; round++) {
      for (let i = 0; i < cases.length; i += 8) await Promise.all(cases.slice(i, i + 8).map(one));
    }
    await probe.stop();
    await sleep(300);
    const log = srv.stdout();
    cat.check(!log.includes(`SMUGGLED-${tok}`), () => `a smuggled request reached a handler: ${log.split('\n').filter((l) => l.includes('SMUGGLED')).slice(0, 3).join(' | ')}`);
    cat.note(`${n} smuggled requests attempted, ${log.split('\n').filter((l) => l.includes(`SMUGGLED-${tok}`)).length} in the access log`);
    await settle(cat, srv, { markers: [site.marker], fdsBefore });
  });
}

// ================================================================ 5. ranges

export function ranges(scale) {
  return runCategory(5, 'range amplification', scale === FULL ? 90000 : 20000, async (cat) => {
    const sizes = { 'r100.bin': 100, 'r10k.bin': 10_000, 'r1m.bin': 1_000_000 };
    const www = {};
    for (const [name, size] of Object.entries(sizes)) www[name] = randomBytes(size);
    const site = makeSite(cat, 'ranges', { www });
    const srv = await startStressServer(cat, site.root);
    const port = srv.port;
    const fdsBefore = await warmUp(srv, ['/r1m.bin', '/r100.bin']);
    const rssBefore = srv.info().rssKb;
    const probe = startProbe(cat, port, { expectBody: HELLO, intervalMs: 50 });
    const OVERHEAD = 8192;
    const headerFor = (size) => {
      const n = 500;
      return {
        'identical whole': Array(n).fill(`0-${size - 1}`).join(','),
        'open-ended': Array(n).fill('0-').join(','),
        'growing': Array.from({ length: n }, (_, i) => `0-${i % size}`).join(','),
        'suffixes': Array.from({ length: n }, (_, i) => `-${1 + (i % size)}`).join(','),
        'sliding': Array.from({ length: n }, (_, i) => `${i % size}-${Math.min(size - 1, (i % size) + 50)}`).join(','),
        'disjoint 300': Array.from({ length: 300 }, (_, i) => `${(2 * i) % size}-${(2 * i) % size}`).join(','),
        'disjoint 50': Array.from({ length: 50 }, (_, i) => `${2 * i}-${2 * i}`).join(','),
        'disjoint 49 repeated': Array(10).fill(Array.from({ length: 49 }, (_, i) => `${2 * i}-${2 * i}`).join(',')).join(','),
        'reversed': Array.from({ length: n }, (_, i) => `${size - 1 - (i % size)}-${size - 1}`).join(','),
        'mixed overlap': Array.from({ length: n }, (_, i) => (i % 3 === 0 ? `-${size}` : i % 3 === 1 ? '0-' : `${i % size}-`)).join(','),
        'whitespace': Array(n).fill(' 0 - 10 ').join(','),
      };
    };
    const rounds = scale === FULL ? 10 : 1;
    let maxOver = 0;
    for (let round = 0; round < rounds; round++) {
      for (const [name, size] of Object.entries(sizes)) {
        for (const [what, spec] of Object.entries(headerFor(size))) {
          for (const method of ['GET', 'HEAD']) {
            cat.sent++;
            const label = `${method} /${name} ${what}`;
            const r = await fetchOnce(port, get(`/${name}`, { method, headers: { Range: `bytes=${spec}` } }), { head: method === 'HEAD' });
            if (!checkAnswer(cat, r, label, { allowed: (s) => s === 200 || s === 206 || s === 416 })) continue;
            const declared = Number(r.headers['content-length']?.[0] ?? r.body.length);
            cat.check(declared <= size + OVERHEAD, () => `${label}: ${declared} bytes for a ${size}-byte file`);
            if (method === 'GET') cat.check(r.body.length <= size + OVERHEAD, () => `${label}: body of ${r.body.length} bytes for a ${size}-byte file`);
            maxOver = Math.max(maxOver, declared - size);
          }
        }
      }
    }
    // Many at once: memory must not follow the number of ranges.
    const parallel = scale === FULL ? 200 : 40;
    const spec = headerFor(1_000_000)['sliding'];
    const results = await Promise.all(Array.from({ length: parallel }, () => fetchOnce(port, get('/r1m.bin', { headers: { Range: `bytes=${spec}` } }), { timeout: 60000 })));
    for (const r of results) {
      cat.sent++;
      if (checkAnswer(cat, r, 'parallel sliding ranges', { allowed: (s) => s === 200 || s === 206 })) {
        cat.check(r.body.length <= 1_000_000 + OVERHEAD, `parallel sliding ranges: ${r.body.length} bytes`);
      }
    }
    await probe.stop();
    const info = srv.info();
    cat.note(`largest range response exceeds its file by ${maxOver} bytes (bound ${OVERHEAD}); RSS ${Math.round(rssBefore / 1024)} → ${Math.round(info.rssKb / 1024)} MiB`);
    await settle(cat, srv, { markers: [site.marker], fdsBefore });
  });
}

// ================================================================ 6. listings and logs

const HOSTILE_NAMES = [
  '<img src=x onerror=alert(1)>.txt',
  '"onmouseover="alert(1)".txt',
  "'onfocus='alert(1)'.txt",
  'new\nline.txt',
  'esc\x1b[31mred\x1b[0m.txt',
  'bell\x07and\x08back.txt',
  'tab\there.txt',
  'cr\rhere.txt',
  '&amp;&lt;.txt',
  '<title><script>alert(1)<script>',
  '<a href=javascript:alert(1)>x',
  'javascript:alert(1)',
  '%2e%2e%2fsecret',
  '?query#frag.txt',
  '\u202eevil\u202d.txt',
  'del\x7f.txt',
  'c1\u009b31m.txt',
  '<!--',
  ']]><svg onload=alert(1)>',
  ' leading and trailing ',
];
// The listing's own markup (issue 17 added the filter form, the count, breadcrumbs, sort headers and the
// rows' data attributes); its one script is checked apart and removed before the scan, so a <script>
// made by a hostile name would still be refused.
const ALLOWED_TAGS = new Set([
  '!DOCTYPE', 'html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'a',
  'div', 'form', 'input', 'button', 'span',
]);
const ALLOWED_ATTRS = new Set([
  'lang', 'charset', 'name', 'content', 'class', 'href',
  'id', 'type', 'value', 'placeholder', 'aria-label', 'autocomplete', 'role', 'method', 'aria-current', 'aria-sort',
  'data-name', 'data-size', 'data-mtime',
]);
/** Links the page itself makes besides the entries': breadcrumbs (canonical paths) and sort headers. */
const PAGE_LINK = /^(\/([A-Za-z0-9\-._~%]+\/)*|\?sort=(name|size|mtime)&amp;order=(asc|desc))$/;

export function listingAndLog(scale) {
  return runCategory(6, 'listing & log injection', scale === FULL ? 60000 : 20000, async (cat) => {
    const tok = randomBytes(5).toString('hex');
    const www = {};
    HOSTILE_NAMES.forEach((name, i) => (www[`hostile/${name}`] = `content ${i}\n`));
    www['hostile/dir<b>bold<b>/inner.txt'] = 'inner\n';
    // Script stderr and a script's file name are written to the log: both try to forge lines and send escapes.
    www['cgi-bin/noisy.sh'] = sh(`printf 'evil\\033[2J\\033]0;title\\007\\r\\n2099-01-01T00:00:00.000Z 6.6.6.6 GET /FORGED-${tok} 200 0 0ms\\n\\302\\23331m\\000NUL\\n' >&2\nprintf 'Content-Type: text/plain\\n\\nnoisy\\n'`);
    www[`cgi-bin/bad\nFORGED-${tok}\x1b[31m.sh`] = { content: '#!/bin/sh\n', mode: 0o644 };
    const site = makeSite(cat, 'listing', { www });
    const servers = [];
    for (const format of ['text', 'json']) {
      const srv = await startStressServer(cat, site.root, ['--log-format', format], { quiet: false });
      servers.push([format, srv]);
    }
    const [, srv] = servers[0];
    const port = srv.port;
    const fdsBefore = await warmUp(srv, ['/hostile/', '/cgi-bin/noisy.sh']);
    const probe = startProbe(cat, port, { expectBody: HELLO, intervalMs: 100 });
    const rounds = scale === FULL ? 10 : 1;

    for (let round = 0; round < rounds; round++) {
      cat.sent++;
      const r = await fetchOnce(port, get('/hostile/'));
      if (!checkAnswer(cat, r, 'listing of hostile names', { allowed: (s) => s === 200, rootPath: site.base })) continue;
      const page = r.body.toString('utf8');
      const scripts = [...page.matchAll(/<script type="module">([^]*?)<\/script>/g)];
      cat.check(scripts.length === 1, () => `listing has ${scripts.length} scripts`);
      cat.check(scripts.every(([, body]) => !body.includes('alert(1)')), () => 'a hostile name reached the script');
      const html = page.replace(/<script type="module">[^]*?<\/script>/g, '');
      for (const m of html.matchAll(/<(\/?)([^\s>/]+)([^>]*)>/g)) {
        const [whole, , tag, attrs] = m;
        if (!cat.check(ALLOWED_TAGS.has(tag), () => `listing has markup ${JSON.stringify(whole.slice(0, 80))}`)) continue;
        for (const a of attrs.matchAll(/([^\s=]+)(?:=("[^"]*"|'[^']*'|[^\s"'>]+))?/g)) {
          if (tag === '!DOCTYPE') break;
          cat.check(ALLOWED_ATTRS.has(a[1]), () => `listing has attribute ${JSON.stringify(a[0].slice(0, 80))}`);
        }
      }
      const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
      for (const href of hrefs) {
        cat.check(href === '../' || /^[A-Za-z0-9\-._~%]+\/?$/.test(href) || PAGE_LINK.test(href), () => `listing link not percent-encoded: ${JSON.stringify(href)}`);
      }
      // Every name round-trips: its link fetches its own content.
      for (const [i, name] of HOSTILE_NAMES.entries()) {
        const enc = encodeURIComponent(name).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
        cat.check(hrefs.includes(enc), () => `no link for ${JSON.stringify(name)}`);
        cat.sent++;
        const f = await fetchOnce(port, get(`/hostile/${enc}`));
        if (checkAnswer(cat, f, `GET hostile ${JSON.stringify(name)}`)) cat.check(f.status === 200 && f.body.toString() === `content ${i}\n`, () => `hostile ${JSON.stringify(name)}: ${f.status}`);
      }
      cat.sent++;
      const j = await fetchOnce(port, get('/hostile/', { headers: { Accept: 'application/json' } }));
      if (checkAnswer(cat, j, 'JSON listing', { allowed: (s) => s === 200 })) {
        try {
          const doc = JSON.parse(j.body.toString('utf8'));
          const names = new Set((Array.isArray(doc) ? doc : doc.entries ?? []).map((e) => e.name));
          for (const name of HOSTILE_NAMES) cat.check(names.has(name), () => `JSON listing lacks ${JSON.stringify(name)}`);
        } catch (err) {
          cat.fail(`JSON listing does not parse: ${err.message}`);
        }
      }
    }
    // Request data that tries to reach the log raw, on both log formats.
    for (const [format, s] of servers) {
      const attempts = [
        get(`/FORGED-${tok}%0a2099-01-01T00:00:00Z%20x%20GET%20/x%20200`),
        get(`/%1b%5b2J%1b%5d0;t%07-${tok}`),
        get(`/cgi-bin/noisy.sh`),
        get(`/cgi-bin/bad%0aFORGED-${tok}%1b%5b31m.sh`),
        get(`/\u009b-${tok}`),
        Buffer.from(`GET /raw\x1b[31m-${tok} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 'latin1'),
        Buffer.from(`GET /raw-${tok} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: \x1b[2J\x9b\r\n\r\n`, 'latin1'),
        Buffer.from(`GE\x1bT /m-${tok} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 'latin1'),
        Buffer.from(`GET /\xc2\x9b-${tok} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 'latin1'),
        Buffer.from(`GET /a-${tok}\r\nFORGED-${tok}: 1\r\n\r\n`, 'latin1'),
      ];
      // All at once, each on its own connection: the checks below do not depend on their order,
      // and ten 400 ms idle waits in a row were most of this category's time budget.
      await Promise.all(attempts.map(async (data) => {
        cat.sent++;
        const { buf } = await sendRaw(s.port, data, { idleMs: 400 });
        const [r] = parseAll(buf);
        if (!r) cat.fail(`log attempt ${printable(data)}: no answer`);
        else checkAnswer(cat, r, `log attempt ${printable(data)}`, { allowed: (st) => st < 500 || st === 501, rootPath: site.base });
      }));
      await sleep(300);
      const log = s.stdout();
      const lines = log.split('\n').filter(Boolean);
      // eslint-disable-next-line no-control-regex
      const raw = log.match(/[\x00-\x09\x0b-\x1f\x7f\u0080-\u009f]/g);
      cat.check(!raw, () => `${format} log holds raw control characters: ${JSON.stringify([...new Set(raw)])}`);
      for (const line of lines.slice(1)) {
        if (format === 'json') {
          try {
            JSON.parse(line);
          } catch {
            cat.fail(`json log line does not parse: ${JSON.stringify(line.slice(0, 120))}`);
          }
        } else {
          cat.check(/^\d{4}-\d\d-\d\dT[\d:.]+Z /.test(line) && !line.startsWith('2099'), () => `text log line forged or malformed: ${JSON.stringify(line.slice(0, 120))}`);
        }
      }
      cat.check(!lines.some((l) => l.startsWith(`FORGED-${tok}`) || /^2099-/.test(l) || l.startsWith('{"time":"2099')), `${format} log: a forged line`);
      cat.check(log.includes('noisy'), `${format} log: the script's stderr is missing`);
    }
    await probe.stop();
    await settle(cat, srv, { markers: [site.marker], fdsBefore });
  });
}
