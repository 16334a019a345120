// Black-box tests of the command line (issues 3 and 4): the built bin is
// spawned, its banner read, its access log parsed, its errors checked.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { get as httpGet, Agent } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLI,
  ROOT_DIR,
  deadline,
  parseRawResponse,
  rawRequest,
  request,
  rmSync,
  runCli,
  startCli,
  tempDir,
  waitFor,
  writeTree,
} from './helpers.mjs';

const VERSION = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')).version;

/** A port that was free a moment ago: listen on 0, read it, close. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Run the CLI expecting it to exit; kills it (and fails) if it is still running after `ms`. */
function runToExit(args, { cwd = ROOT_DIR, uid, gid, ms = 5000 } = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, uid, gid, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return deadline(exited, ms, `scriptserve ${args.join(' ')} to exit`).catch((err) => {
    child.kill('SIGKILL');
    throw new Error(`${err.message} (it kept running; stdout: ${JSON.stringify(stdout)}, stderr: ${JSON.stringify(stderr)})`);
  });
}

/** The contract for bad input: exit 1, no banner, exactly one line on stderr, no stack trace. */
function assertOneLineError(result, pattern) {
  assert.equal(result.code, 1, `exit code (stderr: ${JSON.stringify(result.stderr)})`);
  assert.equal(result.stdout, '', 'nothing on stdout (no banner)');
  assert.match(result.stderr, /\n$/, 'stderr ends with a newline');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `a single line on stderr, got: ${JSON.stringify(result.stderr)}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(result.stderr, /Error:|node:internal|\.ts:\d|\.js:\d/, 'no exception text');
  if (pattern) assert.match(lines[0], pattern);
}

async function withCli(args, opts, fn) {
  const cli = await startCli(args, opts);
  try {
    return await fn(cli);
  } finally {
    await cli.stop();
  }
}

/** Lines printed after the banner. */
function logLines(cli) {
  return cli.stdout().split('\n').slice(1).filter((l) => l !== '');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let root; // real path of a small site
before(() => {
  root = realpathSync(tempDir('scriptserve-cli-'));
  writeTree(root, {
    'hello.txt': 'hello world\n',
    '.env': 'SECRET=1\n',
    'sub/a.txt': 'a',
    'cgi-bin/hi.sh': { content: "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nran\\n'\n", mode: 0o755 },
  });
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('banner', () => {
  test('-d DIR --port 0: first line names the real root and the real port, and that port serves', async () => {
    await withCli(['-d', root, '--port', '0'], {}, async (cli) => {
      assert.match(cli.banner, /^Serving \S.* at http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.notEqual(cli.port, 0);
      assert.equal(cli.banner, `Serving ${root} at http://127.0.0.1:${cli.port}/`);
      const res = await request(cli.port, '/hello.txt');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'hello world\n');
    });
  });

  test('--directory DIR', async () => {
    await withCli(['--directory', root, '-p', '0'], {}, async (cli) => {
      assert.equal(cli.banner, `Serving ${root} at http://127.0.0.1:${cli.port}/`);
      assert.equal((await request(cli.port, '/sub/a.txt')).body.toString(), 'a');
    });
  });

  test('positional DIR (relative, through a symlink) is shown as the absolute real path', async () => {
    const parent = realpathSync(tempDir('scriptserve-cli-link-'));
    try {
      symlinkSync(root, join(parent, 'link'));
      await withCli(['link', '--port', '0'], { cwd: parent }, async (cli) => {
        assert.equal(cli.banner, `Serving ${root} at http://127.0.0.1:${cli.port}/`);
        assert.equal((await request(cli.port, '/hello.txt')).status, 200);
      });
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  test('no directory given: the current directory is served', async () => {
    await withCli(['--port', '0'], { cwd: join(root, 'sub') }, async (cli) => {
      assert.equal(cli.banner, `Serving ${join(root, 'sub')} at http://127.0.0.1:${cli.port}/`);
      assert.equal((await request(cli.port, '/a.txt')).body.toString(), 'a');
    });
  });

  test('a positional that is all digits is the port', async () => {
    const port = await freePort();
    await withCli([String(port), '-d', root], {}, async (cli) => {
      assert.equal(cli.banner, `Serving ${root} at http://127.0.0.1:${port}/`);
      assert.equal(cli.port, port);
      assert.equal((await request(port, '/hello.txt')).status, 200);
    });
  });

  test('-b 127.0.0.1', async () => {
    await withCli(['-b', '127.0.0.1', '-p', '0', root], {}, async (cli) => {
      assert.equal(cli.banner, `Serving ${root} at http://127.0.0.1:${cli.port}/`);
      assert.equal((await request(cli.port, '/hello.txt')).status, 200);
    });
  });

  test('--bind ::1 shows a bracketed IPv6 URL (or a one-line error where ::1 does not exist)', async () => {
    const hasV6Loopback = Object.values(networkInterfaces())
      .flat()
      .some((i) => i && i.family === 'IPv6' && i.address === '::1');
    if (!hasV6Loopback) {
      assertOneLineError(await runToExit(['--bind', '::1', '-p', '0', root]), /::1/);
      return;
    }
    await withCli(['--bind', '::1', '-p', '0', root], {}, async (cli) => {
      assert.match(cli.banner, /^Serving .* at http:\/\/\[::1\]:\d+\/$/);
      assert.equal(cli.banner, `Serving ${root} at http://[::1]:${cli.port}/`);
      const body = await deadline(
        new Promise((resolve, reject) => {
          httpGet({ host: '::1', port: cli.port, path: '/hello.txt', agent: false }, (res) => {
            let b = '';
            res.on('data', (c) => (b += c));
            res.on('end', () => resolve(`${res.statusCode} ${b}`));
          }).on('error', reject);
        }),
        5000,
        'GET over ::1',
      );
      assert.equal(body, '200 hello world\n');
    });
  });
});

describe('access log', () => {
  const TEXT_LINE = /^(\S+) (\S+) (\S+) (\S+) (\d{3}) (\d+) (\d+(?:\.\d+)?)ms$/;

  test('one text line per request: time, client, method, path, status, bytes, ms', async () => {
    await withCli(['-p', '0', root], {}, async (cli) => {
      const ok = await request(cli.port, '/hello.txt?x=1');
      const missing = await request(cli.port, '/nope.txt');
      const head = await request(cli.port, '/hello.txt', { method: 'HEAD' });
      assert.equal(ok.status, 200);
      assert.equal(missing.status, 404);
      assert.equal(head.status, 200);
      const lines = await waitFor(() => (logLines(cli).length >= 3 ? logLines(cli) : null), 5000);
      assert.ok(lines, `three log lines, got stdout ${JSON.stringify(cli.stdout())}`);
      assert.equal(lines.length, 3, `exactly one line per request: ${JSON.stringify(lines)}`);
      const parsed = lines.map((l) => {
        const m = TEXT_LINE.exec(l);
        assert.ok(m, `log line has the documented shape: ${JSON.stringify(l)}`);
        return { time: m[1], client: m[2], method: m[3], path: m[4], status: Number(m[5]), bytes: Number(m[6]), ms: Number(m[7]) };
      });
      for (const p of parsed) {
        assert.ok(!Number.isNaN(Date.parse(p.time)), `time is a date: ${p.time}`);
        assert.equal(p.client, '127.0.0.1');
        assert.ok(p.ms >= 0);
      }
      const byPath = (method, path) => parsed.find((p) => p.method === method && p.path === path);
      assert.deepEqual(
        { status: byPath('GET', '/hello.txt?x=1')?.status, bytes: byPath('GET', '/hello.txt?x=1')?.bytes },
        { status: 200, bytes: ok.body.length },
      );
      assert.equal(byPath('GET', '/nope.txt')?.status, 404);
      assert.equal(byPath('GET', '/nope.txt')?.bytes, missing.body.length);
      assert.equal(byPath('HEAD', '/hello.txt')?.status, 200);
      assert.equal(byPath('HEAD', '/hello.txt')?.bytes, 0, 'HEAD sends no body bytes');
    });
  });

  test('-q and --quiet print no access lines (the banner still comes first)', async () => {
    for (const flag of ['-q', '--quiet']) {
      await withCli([flag, '-p', '0', root], {}, async (cli) => {
        assert.equal(cli.banner, `Serving ${root} at http://127.0.0.1:${cli.port}/`);
        assert.equal((await request(cli.port, '/hello.txt')).status, 200);
        assert.equal((await request(cli.port, '/nope')).status, 404);
        await sleep(300); // give a (wrong) log line the time to show up
        assert.deepEqual(logLines(cli), [], `${flag}: no log lines`);
      });
    }
  });

  test('--log-format json prints one JSON object per request with the same fields', async () => {
    await withCli(['--log-format', 'json', '-p', '0', root], {}, async (cli) => {
      const ok = await request(cli.port, '/hello.txt');
      await request(cli.port, '/nope.txt', { method: 'HEAD' });
      const lines = await waitFor(() => (logLines(cli).length >= 2 ? logLines(cli) : null), 5000);
      assert.ok(lines, `two log lines, got ${JSON.stringify(cli.stdout())}`);
      assert.equal(lines.length, 2);
      const objs = lines.map((l) => JSON.parse(l));
      for (const o of objs) {
        for (const key of ['time', 'client', 'method', 'path', 'status', 'bytes', 'ms']) assert.ok(key in o, `field ${key} in ${JSON.stringify(o)}`);
        assert.ok(!Number.isNaN(Date.parse(o.time)));
        assert.equal(o.client, '127.0.0.1');
        assert.equal(typeof o.status, 'number');
        assert.equal(typeof o.bytes, 'number');
        assert.equal(typeof o.ms, 'number');
      }
      const get = objs.find((o) => o.method === 'GET');
      assert.deepEqual([get.path, get.status, get.bytes], ['/hello.txt', 200, ok.body.length]);
      const head = objs.find((o) => o.method === 'HEAD');
      assert.deepEqual([head.path, head.status, head.bytes], ['/nope.txt', 404, 0]);
    });
  });

  test('control characters never reach the terminal: a raw ESC in the target is refused (400) and not logged raw', async () => {
    await withCli(['-p', '0', root], {}, async (cli) => {
      // Node's parser refuses control bytes in the request target itself; the
      // server must still answer 400 and log it without the raw byte.
      const reply = parseRawResponse(await rawRequest(cli.port, 'GET /a\x1b[31mred HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
      assert.equal(reply.status, 400);
      // Percent-encoded ESC stays encoded in the log (the log shows the raw target).
      const enc = await request(cli.port, '/b%1b[2Jc');
      assert.equal(enc.status, 404);
      const lines = await waitFor(() => (logLines(cli).length >= 2 ? logLines(cli) : null), 5000);
      assert.ok(lines, `log lines for both requests, got ${JSON.stringify(cli.stdout())}`);
      assert.ok(lines.some((l) => / 400 /.test(l)), `the 400 is logged: ${JSON.stringify(lines)}`);
      assert.ok(lines.some((l) => l.includes('/b%1b[2Jc') && / 404 /.test(l)), `the encoded path is logged as sent: ${JSON.stringify(lines)}`);
      assert.ok(!cli.stdout().includes('\x1b'), 'no raw ESC byte on stdout');
      assert.ok(!cli.stderr().includes('\x1b'), 'no raw ESC byte on stderr');
    });
  });
});

describe('--help and --version', () => {
  const LONG_FLAGS = [
    '--directory', '--port', '--bind', '--quiet', '--log-format', '--cache', '--dotfiles', '--follow-symlinks',
    '--cgi', '--no-cgi', '--cgi-dir', '--interpreter', '--pass-env', '--pass-authorization', '--script-timeout',
    '--max-scripts', '--max-body', '--route', '--route-type', '--config', '--header-timeout', '--request-timeout',
    '--version',
  ];

  /** Option entries of the help text: { flags, text } with continuation lines joined. */
  function helpEntries(help) {
    const entries = [];
    let inOptions = false;
    for (const line of help.split('\n')) {
      if (/^Options:/.test(line)) {
        inOptions = true;
        continue;
      }
      if (!inOptions) continue;
      if (/^\S/.test(line)) break;
      const m = /^ {2}(-\S.*?)(?: {2,}(.*))?$/.exec(line);
      if (m) entries.push({ flags: m[1].trim(), text: m[2] ?? '' });
      else if (entries.length && line.trim()) entries[entries.length - 1].text += ' ' + line.trim();
    }
    return entries;
  }

  test('--help exits 0 and names every flag of issues 3 and 4', async () => {
    const { code, stdout, stderr } = await runCli(['--help']);
    assert.equal(code, 0);
    assert.equal(stderr, '');
    const entries = helpEntries(stdout);
    const named = new Set(entries.flatMap((e) => e.flags.split(/[ ,]+/).filter((f) => f.startsWith('--'))));
    for (const flag of LONG_FLAGS) assert.ok(named.has(flag), `--help documents ${flag}`);
    assert.ok(named.has('--no-listing'), '--help documents --no-listing');
    assert.match(stdout, /\[PORT\|DIR\]/, 'the positional argument is documented');
  });

  test('--help states the default of every option', async () => {
    const { stdout } = await runCli(['--help']);
    const entries = helpEntries(stdout).filter((e) => !/--help|--version/.test(e.flags));
    assert.ok(entries.length >= LONG_FLAGS.length - 1);
    // A negated switch (`--no-listing`, `--no-cgi`) is off unless given: its default is its absence.
    const missing = entries
      .filter((e) => !/^--no-/.test(e.flags) && !/default/i.test(e.text))
      .map((e) => e.flags);
    assert.deepEqual(missing, [], 'options whose help text gives no default');
    // Spot-check the values themselves.
    const text = (flag) => entries.find((e) => e.flags.split(/[ ,]+/).includes(flag))?.text ?? '';
    assert.match(text('--port'), /8000/);
    assert.match(text('--bind'), /127\.0\.0\.1/);
    assert.match(text('--script-timeout'), /60/);
    assert.match(text('--max-body'), /100 ?M/);
    assert.match(text('--cache'), /no-cache/);
  });

  test('--version and -V print the package.json version and exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const { code, stdout } = await runCli([flag]);
      assert.equal(code, 0);
      assert.equal(stdout.trim(), VERSION);
    }
  });
});

describe('bad input: exit 1, one line on stderr, no stack trace', () => {
  let work;
  before(() => {
    work = realpathSync(tempDir('scriptserve-cli-bad-'));
    writeTree(work, {
      'afile.txt': 'x',
      'bad.json': '{ "routes": [ ',
      'unknown.json': JSON.stringify({ routes: [], colour: 'blue' }),
      'badjson-root/scriptserve.json': '{nope',
      'unknown-root/scriptserve.json': JSON.stringify({ frobnicate: true }),
    });
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  const cases = [
    ['unknown flag', () => ['--nope'], /--nope/],
    ['unknown flag close to a real one (suggestion stays on the same line)', () => ['--cach', '5'], /--cach/],
    ['port not a number', () => ['-p', 'abc'], /port/],
    ['port out of range', () => ['-p', '70000'], /port/],
    ['port missing its value', () => ['-p'], /port/],
    ['root missing', () => ['-p', '0', '-d', join(work, 'does-not-exist')], /does-not-exist/],
    ['root is a file', () => ['-p', '0', join(work, 'afile.txt')], /afile\.txt/],
    ['--interpreter without =', () => ['-p', '0', '--interpreter', 'nonsense', work], /interpreter/],
    ['--interpreter with a command that does not exist', () => ['-p', '0', '--interpreter', '.zz=no-such-interpreter-xyz', work], /no-such-interpreter-xyz/],
    ['--route without METHOD /path=', () => ['-p', '0', '--route', 'bad', work], /route/],
    ['--route with a command that does not exist', () => ['-p', '0', '--route', 'POST /x=no-such-command-xyz', work], /no-such-command-xyz/],
    ['--route-type without a --route', () => ['-p', '0', '--route-type', 'application/json', work], /route-type/],
    ['--config with invalid JSON', () => ['-p', '0', '--config', join(work, 'bad.json'), work], /JSON/],
    ['--config with an unknown key', () => ['-p', '0', '--config', join(work, 'unknown.json'), work], /colour/],
    ['--config file missing', () => ['-p', '0', '--config', join(work, 'missing.json'), work], /missing\.json/],
    ['scriptserve.json in the root with invalid JSON', () => ['-p', '0', join(work, 'badjson-root')], /JSON/],
    ['scriptserve.json in the root with an unknown key', () => ['-p', '0', join(work, 'unknown-root')], /frobnicate/],
    ['--dotfiles with an unknown mode', () => ['-p', '0', '--dotfiles', 'maybe', work], /dotfiles/],
    ['--log-format with an unknown format', () => ['-p', '0', '--log-format', 'xml', work], /log-format/],
    ['--script-timeout negative', () => ['-p', '0', '--script-timeout', '-1', work], /script-timeout/],
    ['--max-scripts 0', () => ['-p', '0', '--max-scripts', '0', work], /max-scripts/],
    ['--max-body not a size', () => ['-p', '0', '--max-body', 'lots', work], /max-body/],
    ['--cgi-dir not a URL path', () => ['-p', '0', '--cgi-dir', 'cgi', work], /cgi/],
    ['two positionals', () => ['-p', '0', work, work], /argument/],
    ['unknown short flag', () => ['-x', work], /-x/],
    ['a switch given a value', () => ['--quiet=yes', work], /quiet/],
    ['a repeatable option missing its value', () => ['-p', '0', work, '--route'], /route/],
    ['an option whose name extends another, missing its value', () => ['-p', '0', work, '--cgi-dir'], /'--cgi-dir <path>' argument missing/],
    ['--auth-file given a dash value is named as itself', () => ['-p', '0', work, '--auth-file', '-x'], /'--auth-file <file>'/],
    ['a value that starts with a dash', () => ['-p', '0', '--script-timeout', '-1', work], /script-timeout/],
    ['positional port out of range', () => ['99999'], /99999/],
  ];
  for (const [name, args, pattern] of cases) {
    test(name, async () => {
      assertOneLineError(await runToExit(args()), pattern);
    });
  }

  test('port in use', async () => {
    const blocker = createNetServer();
    await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address();
    try {
      assertOneLineError(await runToExit(['-p', String(port), work]), new RegExp(`${port}.*in use|in use.*${port}`));
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  test('root unreadable', async () => {
    const parent = tempDir('scriptserve-cli-locked-');
    chmodSync(parent, 0o755);
    const locked = join(parent, 'locked');
    mkdirSync(locked);
    writeFileSync(join(locked, 'x.txt'), 'x');
    chmodSync(locked, 0o000);
    try {
      if (process.getuid?.() === 0) {
        // Root reads through mode 000, so running the CLI as root proves nothing.
        // Run it as `nobody` instead, for whom the directory really is unreadable
        // (dist/ and node are world-readable; the parent is 0755).
        assertOneLineError(await runToExit(['-p', '0', locked], { uid: 65534, gid: 65534 }), /not readable|permission/i);
      } else {
        assertOneLineError(await runToExit(['-p', '0', locked]), /not readable|permission/i);
      }
    } finally {
      chmodSync(locked, 0o755);
      rmSync(parent, { recursive: true, force: true });
    }
  });
});

describe('signals', () => {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    test(`${signal} closes the server and exits 0, even with an idle keep-alive connection`, async () => {
      const cli = await startCli(['-p', '0', root]);
      const agent = new Agent({ keepAlive: true });
      try {
        assert.equal((await request(cli.port, '/hello.txt', { agent })).status, 200);
        cli.child.kill(signal);
        const { code, signal: sig } = await deadline(cli.exited, 5000, `exit after ${signal}`);
        assert.equal(sig, null, 'exited by itself, not killed by the signal');
        assert.equal(code, 0);
        await assert.rejects(request(cli.port, '/hello.txt', { timeout: 3000 }), /ECONNREFUSED/);
      } finally {
        agent.destroy();
        await cli.stop();
      }
    });
  }
});

describe('serving options', () => {
  test('default Cache-Control is no-cache; --cache 60 gives max-age=60', async () => {
    await withCli(['-p', '0', root], {}, async (cli) => {
      assert.equal((await request(cli.port, '/hello.txt')).headers['cache-control'], 'no-cache');
    });
    await withCli(['--cache', '60', '-p', '0', root], {}, async (cli) => {
      const res = await request(cli.port, '/hello.txt');
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'max-age=60');
    });
  });

  test('.env is 404 by default; --dotfiles allow serves it', async () => {
    await withCli(['-p', '0', root], {}, async (cli) => {
      const res = await request(cli.port, '/.env');
      assert.equal(res.status, 404);
      assert.ok(!res.body.toString().includes('SECRET'));
    });
    await withCli(['--dotfiles', 'allow', '-p', '0', root], {}, async (cli) => {
      const res = await request(cli.port, '/.env');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'SECRET=1\n');
    });
  });

  test('option forms: --name=value, -pVALUE, and a switch after a positional', async () => {
    await withCli(['--cache=60', '-p0', root, '-q'], {}, async (cli) => {
      assert.equal((await request(cli.port, '/hello.txt')).headers['cache-control'], 'max-age=60');
      await request(cli.port, '/hello.txt');
      await sleep(200);
      assert.deepEqual(logLines(cli), [], '-q after the positional still silences the log');
    });
  });

  test('--cgi and --no-cgi: the last one given wins', async () => {
    await withCli(['--cgi', '--no-cgi', '-p', '0', root], {}, async (cli) => {
      const res = await request(cli.port, '/cgi-bin/hi.sh');
      assert.doesNotMatch(res.body.toString(), /^ran/, '--no-cgi came last: nothing runs');
    });
    await withCli(['--no-cgi', '--cgi', '-p', '0', root], {}, async (cli) => {
      const res = await request(cli.port, '/cgi-bin/hi.sh', { method: 'POST', headers: { 'Content-Length': '0' } });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'ran\n');
    });
  });

  test('switches set in scriptserve.json stand unless the command line gives the flag', async () => {
    const site = realpathSync(tempDir('scriptserve-cli-config-'));
    try {
      writeTree(site, { '.env': 'SECRET=2\n', 'sub/a.txt': 'a', 'scriptserve.json': JSON.stringify({ dotfiles: 'allow', listing: false }) });
      await withCli(['-p', '0', site], {}, async (cli) => {
        assert.equal((await request(cli.port, '/.env')).status, 200, '"dotfiles": "allow" from the file');
        assert.equal((await request(cli.port, '/sub/')).status, 403, '"listing": false from the file');
      });
      await withCli(['--dotfiles', 'ignore', '-p', '0', site], {}, async (cli) => {
        assert.equal((await request(cli.port, '/.env')).status, 404, 'the flag wins over the file');
      });
    } finally {
      rmSync(site, { recursive: true, force: true });
    }
  });

  test('a file that stat sees but open may not read is 403, small, large or behind a symlink', async () => {
    const site = tempDir('scriptserve-cli-mode000-');
    chmodSync(site, 0o755);
    writeTree(site, { 'small.txt': 'secret', 'big.bin': Buffer.alloc(300 * 1024, 1), 'ok.txt': 'ok' });
    symlinkSync(join(site, 'small.txt'), join(site, 'link.txt'));
    for (const name of ['small.txt', 'big.bin', 'ok.txt']) chmodSync(join(site, name), name === 'ok.txt' ? 0o644 : 0o000);
    // Root reads through mode 000: run the server as `nobody` then (dist/ and node are world-readable).
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    try {
      await withCli(['-p', '0', site], asNobody, async (cli) => {
        assert.equal((await request(cli.port, '/ok.txt')).status, 200);
        for (const path of ['/small.txt', '/big.bin', '/link.txt', '/small.txt']) {
          const res = await request(cli.port, path);
          assert.equal(res.status, 403, path);
          assert.ok(!res.body.includes('secret'), path);
        }
      });
    } finally {
      rmSync(site, { recursive: true, force: true });
    }
  });

  test('a directory is listed by default; --no-listing answers 403', async () => {
    await withCli(['-p', '0', root], {}, async (cli) => {
      const res = await request(cli.port, '/sub/');
      assert.equal(res.status, 200);
      assert.match(res.body.toString(), /a\.txt/);
    });
    await withCli(['--no-listing', '-p', '0', root], {}, async (cli) => {
      const res = await request(cli.port, '/sub/');
      assert.equal(res.status, 403);
      assert.doesNotMatch(res.body.toString(), /a\.txt/);
      assert.equal((await request(cli.port, '/sub/a.txt')).status, 200, 'files are still served');
    });
  });
});
