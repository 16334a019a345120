// Warm Python (issue 7): a fork server forks one child per request, and that
// child must behave exactly like a fresh `python3 script.py`. Each script of
// the table runs on a cold server and on a warm one, and the responses (and
// stderr in the log) must be byte-identical. Then: which scripts run warm,
// restart of a dead fork server, timeouts, disconnects, config and CLI.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { HELPER_PROGRAM, PYTHON, deadline, isAlive, isForkServerChild, parentOf, request, rmSync, runCli, startCli, startServer, tempDir, waitFor, whileStopped, writeTree } from './helpers.mjs';

const HOST = { Host: 'localhost' };
const py = (body) => ({ content: `#!${PYTHON}\n${body}`, mode: 0o755 });
const HEAD = "import sys\nsys.stdout.write('Content-Type: text/plain\\n\\n')\nsys.stdout.flush()\n";

/** A script that sends `line 1`, then `line 2 after the gate` once the file named by its query string exists. */
function streamGate(prologue) {
  return py(`${prologue}import os, sys, time
${HEAD}print('line 1', flush=True)
gate = os.path.join(os.environ['DOCUMENT_ROOT'], os.environ['QUERY_STRING'])
for _ in range(200):
    if os.path.exists(gate):
        print('line 2 after the gate', flush=True)
        break
    time.sleep(0.05)
else:
    print('gate never opened')
`);
}

const SCRIPTS = {
  'cgi-bin/env.py': py(`import os, sys
body = sys.stdin.buffer.read()
sys.stdout.write('Content-Type: text/plain\\n\\n')
for k, v in sorted(os.environ.items()):
    print(f'{k}={v}')
print('body', len(body))
`),
  'cgi-bin/identity.py': py(`"""A docstring: __doc__ must be this in both runs."""
import os, sys
${HEAD}print(repr(sys.argv), repr(sys.orig_argv), sys.executable)
print(sys.path[0], os.getcwd())
print(__name__, __file__, __doc__, __cached__, __spec__, __package__, __loader__.name, __loader__.path)
print(sorted(k for k in globals() if k.startswith('__')), list(globals())[:9])
print('umask', oct(os.umask(0o22)))
print('session leader', os.getsid(0) == os.getpid(), 'group leader', os.getpgrp() == os.getpid())
print('flags', sys.flags)
print('uid', os.getuid(), os.getgid(), os.getgroups())
print('main', sys.modules['__main__'] is sys.modules[__name__], sys.modules['__main__'].__dict__ is globals())
`),
  'cgi-bin/signals.py': py(`import signal
${HEAD}for name in ('SIGPIPE', 'SIGINT', 'SIGCHLD', 'SIGTERM', 'SIGXFSZ', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGALRM'):
    print(name, signal.getsignal(getattr(signal, name)))
print('blocked', sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))
print('wakeup', signal.set_wakeup_fd(-1))
`),
  'cgi-bin/stdio.py': py(`import os, stat, sys
${HEAD}for name in ('stdin', 'stdout', 'stderr'):
    s = getattr(sys, name)
    print(name, s.encoding, s.errors, s.line_buffering, s.write_through, type(s.buffer).__name__,
          type(getattr(s.buffer, 'raw', s.buffer)).__name__, s.isatty(), getattr(s, '_CHUNK_SIZE', None),
          s is getattr(sys, '__' + name + '__'), s.fileno(), s.buffer.raw.name, s.newlines)
for fd in range(3):
    mode = os.fstat(fd).st_mode
    print(fd, 'socket' if stat.S_ISSOCK(mode) else 'fifo' if stat.S_ISFIFO(mode) else oct(mode), os.get_blocking(fd), os.get_inheritable(fd))
print(sys.getfilesystemencoding(), sys.getdefaultencoding())
import locale
print(locale.getpreferredencoding(False), locale.setlocale(locale.LC_CTYPE))
`),
  'cgi-bin/fds.py': py(`import os, sys
${HEAD}print(' '.join(sorted(os.listdir('/proc/self/fd'), key=int)))
`),
  'cgi-bin/exit3.py': py('import sys\nsys.exit(3)\n'),
  // Warm, stdin is a socket to the server (cold, a pipe's read end): what the script writes there must not pass for the fork server's status lines.
  'cgi-bin/forge_exit.py': py(`import os, time
try:
    os.write(0, b'exit 0 -\\npid 1\\nexit - SIGKILL\\n')
except OSError:
    pass
${HEAD}time.sleep(0.3)
print('still running')
sys.exit(5)
`),
  'cgi-bin/exit_after.py': py(`${HEAD}print('partial answer')\nsys.stdout.flush()\nsys.exit(4)\n`),
  'cgi-bin/exit_string.py': py(`${HEAD}print('bye')\nsys.exit('leaving with a message')\n`),
  'cgi-bin/exception.py': py(`def inner():
    raise ValueError('boom before headers')
def outer():
    try:
        {}['missing']
    except KeyError:
        inner()
outer()
`),
  'cgi-bin/exception_after.py': py(`${HEAD}print('started')\nraise RuntimeError('boom after headers')\n`),
  'cgi-bin/syntax.py': py('x = 1\ndef (\n'),
  'cgi-bin/interrupt.py': py(`${HEAD}print('before')\nraise KeyboardInterrupt\n`),
  'cgi-bin/atexit_out.py': py(`import atexit, sys
${HEAD}atexit.register(lambda: print('atexit 1 ran'))
atexit.register(lambda: print('atexit 2 ran first'))
print('main done')
`),
  'cgi-bin/threads.py': py(`import threading, time
${HEAD}def late():
    time.sleep(0.2)
    print('thread finished after main', flush=True)
threading.Thread(target=late).start()
print('main returns')
`),
  'cgi-bin/echo.py': py(`import os, sys
n = int(os.environ.get('CONTENT_LENGTH') or 0)
sys.stdout.write('Content-Type: application/octet-stream\\n\\n')
sys.stdout.flush()
out = sys.stdout.buffer
while n > 0:
    chunk = sys.stdin.buffer.read(min(n, 65536))
    if not chunk:
        break
    n -= len(chunk)
    out.write(chunk)
out.write(sys.stdin.buffer.read())
`),
  'cgi-bin/stream_gate.py': streamGate(''),
  // stream_gate.py with its stdin closed first: only the fork server still holds that socket.
  'cgi-bin/stream_gate_noin.py': streamGate('import os\nos.close(0)\n'),
  'cgi-bin/mutate.py': py(`import json, sys
${HEAD}print('before', hasattr(json, 'MUTATED'), json.dumps is json.dumps)
json.MUTATED = 1
json.dumps = None
import helper_a
helper_a.STATE.append('dirty')
print('after', json.MUTATED, helper_a.STATE)
`),
  'cgi-bin/check_clean.py': py(`import json, sys
${HEAD}print('json mutated', hasattr(json, 'MUTATED'), json.dumps is None, callable(json.dumps))
print('helpers loaded', sorted(m for m in sys.modules if m.startswith('helper_')))
import helper_a
print('helper state', helper_a.STATE)
`),
  'cgi-bin/rand.py': py(`import random, sys
${HEAD}print(random.random(), random.random())
`),
  'cgi-bin/uses_b.py': py(`import sys
${HEAD}import helper_b
print('a uses', helper_b.NAME, helper_b.__file__)
print(sorted(m for m in sys.modules if m.startswith('helper_')))
`),
  'cgi-bin/uses_a.py': py(`import sys
${HEAD}import helper_a
print('b uses', helper_a.NAME, helper_a.__file__)
print(sorted(m for m in sys.modules if m.startswith('helper_')))
`),
  'cgi-bin/helper_a.py': "NAME = 'helper a'\nSTATE = []\n",
  'cgi-bin/helper_b.py': "import helper_a\nNAME = 'helper b, with ' + helper_a.NAME\n",
  'cgi-bin/nph-warm.py': py(`import sys
sys.stdout.write('HTTP/1.0 203 Written By Hand\\r\\nContent-Type: text/plain\\r\\nX-Nph: yes\\r\\n\\r\\nraw body\\n')
`),
  'cgi-bin/local_redirect.py': py("import sys\nsys.stdout.write('Location: /cgi-bin/identity.py\\n\\n')\n"),
  'cgi-bin/status.py': py("import sys\nsys.stdout.write('Status: 201 Created\\nContent-Type: text/plain\\nX-Script: yes\\nSet-Cookie: a=1\\nSet-Cookie: b=2\\n\\ncreated\\n')\n"),
  // Not in the table: who ran it, and long-running ones for the process tests.
  'cgi-bin/ppid.py': py(`import os, sys
${HEAD}print(os.getppid())
`),
  'cgi-bin/ppid_u.py': { content: `#!${PYTHON} -u\nimport os, sys\n${HEAD}print(os.getppid())\n`, mode: 0o755 },
  'cgi-bin/ppid_env.py': { content: `#!/usr/bin/env python3\nimport os, sys\n${HEAD}print(os.getppid())\n`, mode: 0o755 },
  'cgi-bin/ppid.sh': { content: '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n%s\\n" "$PPID"\n', mode: 0o755 },
  'cgi-bin/mapped.py': { content: `import os, sys\n${HEAD}print(os.getppid())\n`, mode: 0o644 },
  'cgi-bin/sleeper.py': py(`import os, subprocess, sys, time
child = subprocess.Popen(['sleep', '60'])
with open(os.path.join(os.environ['DOCUMENT_ROOT'], os.environ['QUERY_STRING']), 'w') as f:
    f.write(f'{os.getpid()} {child.pid}')
time.sleep(60)
`),
};

/** The table: path, method, body. Every row runs cold and warm. */
const TABLE = [
  ['/cgi-bin/env.py?a=1&b=%20x', 'POST', Buffer.from('some body')],
  ['/cgi-bin/env.py/extra/path', 'GET'],
  ['/cgi-bin/identity.py', 'GET'],
  ['/cgi-bin/signals.py', 'GET'],
  ['/cgi-bin/stdio.py', 'GET'],
  ['/cgi-bin/exit3.py', 'GET'],
  ['/cgi-bin/forge_exit.py', 'GET'],
  ['/cgi-bin/exit_after.py', 'GET'],
  ['/cgi-bin/exit_string.py', 'GET'],
  ['/cgi-bin/exception.py', 'GET'],
  ['/cgi-bin/exception_after.py', 'GET'],
  ['/cgi-bin/syntax.py', 'GET'],
  ['/cgi-bin/interrupt.py', 'GET'],
  ['/cgi-bin/atexit_out.py', 'GET'],
  ['/cgi-bin/threads.py', 'GET'],
  ['/cgi-bin/echo.py', 'POST', randomBytes(1024 * 1024)],
  ['/cgi-bin/echo.py', 'POST', Buffer.alloc(0)],
  ['/cgi-bin/uses_b.py', 'GET'],
  ['/cgi-bin/uses_a.py', 'GET'],
  ['/cgi-bin/nph-warm.py', 'GET'],
  ['/cgi-bin/local_redirect.py', 'GET'],
  ['/cgi-bin/status.py', 'HEAD'],
  ['/cgi-bin/status.py', 'POST', Buffer.from('ignored')],
];

/** Values that depend on the connection, not on the run: the server's port and the client's. */
function normalize(text, port) {
  return text.replaceAll(`SERVER_PORT=${port}\n`, 'SERVER_PORT=*\n').replace(/REMOTE_PORT=\d+\n/, 'REMOTE_PORT=*\n');
}

function call(port, path, method = 'GET', body) {
  const headers = { ...HOST };
  if (body) headers['Content-Type'] = 'application/octet-stream';
  return request(port, path, { method, headers, body, timeout: 20000 });
}

/** Comparable form of a response: status, headers except Date, body. */
function shape(res, port) {
  const headers = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    if (res.rawHeaders[i].toLowerCase() !== 'date') headers.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  }
  return { status: res.status, headers, body: normalize(res.body.toString('latin1'), port) };
}

/** Script stderr lines in the log (the timestamp stripped), for one script. */
function stderrLines(logs, scriptName) {
  return logs.filter((l) => l.includes(` ${scriptName}: `)).map((l) => l.slice(l.indexOf(' ') + 1));
}

/** Descriptors the test process itself inherited without close-on-exec (the harness's); cold scripts inherit them too. */
function inheritedFds() {
  const out = new Set();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const flags = /flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (Number(fd) > 2 && flags && (parseInt(flags[1], 8) & 0o2000000) === 0) out.add(fd);
    } catch {
      /* the directory's own descriptor */
    }
  }
  return out;
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
}

async function ppidOf(port, path) {
  const res = await call(port, path);
  assert.equal(res.status, 200, `${path}: ${res.body}`);
  return Number(res.body.toString().trim());
}

/**
 * GET `path` (a stream_gate script), and once its first line has come,
 * SIGKILL the fork server `forkServer`. Resolves to `{ inFlight }`, the
 * promise of the response ({ status, text }), still in flight.
 */
async function killForkServerDuring(port, path, forkServer) {
  let seen = '';
  const inFlight = deadline(new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: HOST }, (r) => {
      r.setEncoding('utf8');
      r.on('data', (d) => (seen += d));
      r.on('end', () => resolve({ status: r.statusCode, text: seen }));
      r.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  }), 15000, 'in-flight request');
  inFlight.catch(() => {}); // awaited by the caller; not unhandled if an assertion below throws first
  assert.ok(await waitFor(() => seen.includes('line 1'), 5000), 'the in-flight script never started');
  process.kill(forkServer, 'SIGKILL');
  assert.ok(await waitFor(() => !isAlive(forkServer), 5000), 'fork server survived SIGKILL');
  return { inFlight };
}

/** The fork server that forked a warm child: a child of this process running the helper program. */
const isForkServer = isForkServerChild;

describe('warm Python', () => {
  let root;
  let cold;
  let warm;

  before(async () => {
    root = realpathSync(tempDir('scriptserve-warm-test-'));
    writeTree(root, SCRIPTS);
    // No spawn helper in these two (nor in the servers of "which scripts run warm"): every cold run is
    // then a child of this process, and a warm one a child of the fork server (spawn-helper.test.mjs
    // covers cold runs through the helper, whose children they are too).
    cold = await startServer({ root, warmPython: false, spawnHelper: false });
    warm = await startServer({ root, warmPython: true, warmInterpreter: PYTHON, warmPreload: ['json', 'random', 're', 'urllib.parse'], spawnHelper: false });
    // The fork server is ready once a script has run warm.
    assert.ok(await waitFor(async () => isForkServer(await ppidOf(warm.port, '/cgi-bin/ppid.py')), 5000), 'the fork server never took a request');
  });

  after(async () => {
    await cold?.close();
    await warm?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  describe('cold and warm runs answer byte for byte the same', () => {
    for (const [path, method, body] of TABLE) {
      test(`${method} ${path}${body ? ` (${body.length} bytes)` : ''}`, async () => {
        const a = await call(cold.port, path, method, body);
        const b = await call(warm.port, path, method, body);
        assert.deepEqual(shape(b, warm.port), shape(a, cold.port));
        if (path.startsWith('/cgi-bin/echo.py')) assert.ok(b.body.equals(body), 'echo changed the body');
      });
    }

    test('stderr (tracebacks, SystemExit messages) reaches the log the same, never the client', async () => {
      for (const script of ['exception.py', 'exception_after.py', 'syntax.py', 'exit_string.py', 'interrupt.py']) {
        const name = `/cgi-bin/${script}`;
        // The script's stderr may be logged after its answer reached the client, but always before its access line.
        const accessLines = (logs) => logs.filter((l) => (l.includes(` ${name} `) || l.includes(` ${name}?`)) && / exit=| signal=/.test(l)).length;
        const [coldSeen, warmSeen] = [accessLines(cold.logs), accessLines(warm.logs)];
        const a = await call(cold.port, name);
        const b = await call(warm.port, name);
        assert.ok(!/Traceback|leaving with/.test(b.body.toString()), `${script}: stderr reached the client`);
        assert.equal(b.status, a.status, script);
        assert.ok(await waitFor(() => accessLines(cold.logs) > coldSeen && accessLines(warm.logs) > warmSeen), `${script}: no access line`);
        const coldLines = stderrLines(cold.logs, name);
        const warmLines = stderrLines(warm.logs, name);
        assert.ok(coldLines, `${script}: no stderr logged cold`);
        assert.deepEqual(warmLines, coldLines, script);
      }
      assert.ok(stderrLines(warm.logs, '/cgi-bin/exception.py').some((l) => l.endsWith('ValueError: boom before headers')));
    });

    test('exit codes and signals reach the access log the same', async () => {
      const outcome = (logs, path) => {
        const line = logs.find((l) => l.includes(` GET ${path} `) && / (exit|signal)=/.test(l));
        return line && / ((exit|signal)=\S+)/.exec(line)[1];
      };
      for (const [path, expected] of [['/cgi-bin/exit3.py', 'exit=3'], ['/cgi-bin/exception.py', 'exit=1'], ['/cgi-bin/interrupt.py', 'signal=SIGINT'], ['/cgi-bin/exit_after.py', 'exit=4'], ['/cgi-bin/forge_exit.py', 'exit=5']]) {
        await call(cold.port, path);
        await call(warm.port, path);
        assert.equal(await waitFor(() => outcome(cold.logs, path)), expected, `cold ${path}`);
        assert.equal(await waitFor(() => outcome(warm.logs, path)), expected, `warm ${path}`);
      }
    });

    test('open descriptors: only 0, 1 and 2 (plus the listing itself)', async () => {
      const inherited = inheritedFds();
      const fds = async (port) => (await call(port, '/cgi-bin/fds.py')).body.toString().trim().split(' ').filter((fd) => !inherited.has(fd));
      const warmFds = await fds(warm.port);
      assert.deepEqual(warmFds, ['0', '1', '2', '3']);
      assert.deepEqual(warmFds, await fds(cold.port));
    });

    test('streaming: a line arrives while the script still runs', async () => {
      for (const srv of [cold, warm]) {
        const gate = `gate-${srv.port}`;
        const res = await deadline(new Promise((resolve, reject) => {
          const req = httpRequest({ host: '127.0.0.1', port: srv.port, path: `/cgi-bin/stream_gate.py?${gate}`, headers: HOST }, (r) => {
            let text = '';
            r.setEncoding('utf8');
            r.on('data', (d) => {
              // The script waits for the gate, which opens only once line 1 has been seen here.
              if (!text.includes('line 1') && (text + d).includes('line 1')) writeFileSync(join(root, gate), '');
              text += d;
            });
            r.on('end', () => resolve({ status: r.statusCode, text }));
            r.on('error', reject);
          });
          req.on('error', reject);
          req.end();
        }), 15000, 'streamed response');
        assert.equal(res.status, 200);
        assert.equal(res.text, 'line 1\nline 2 after the gate\n');
      }
    });
  });

  describe('no state leaks between requests', () => {
    test('a module changed by one request is clean in the next', async () => {
      for (const srv of [cold, warm]) {
        const first = await call(srv.port, '/cgi-bin/mutate.py');
        assert.equal(first.body.toString(), "before False True\nafter 1 ['dirty']\n");
        const second = await call(srv.port, '/cgi-bin/check_clean.py');
        assert.equal(second.body.toString(), "json mutated False False True\nhelpers loaded []\nhelper state []\n");
      }
    });

    test('random is reseeded in every child', async () => {
      const values = new Set();
      for (let i = 0; i < 4; i++) {
        const res = await call(warm.port, '/cgi-bin/rand.py');
        assert.equal(res.status, 200);
        const pair = res.body.toString().trim().split(' ');
        assert.equal(pair.length, 2);
        assert.notEqual(pair[0], pair[1]);
        values.add(pair[0]);
      }
      assert.equal(values.size, 4, `random repeated across requests: ${[...values]}`);
    });

    test('parallel requests each get their own child and body', async () => {
      const bodies = Array.from({ length: 12 }, () => randomBytes(50_000 + Math.floor(Math.random() * 1000)));
      const answers = await Promise.all(bodies.map((b) => call(warm.port, '/cgi-bin/echo.py', 'POST', b)));
      answers.forEach((res, i) => {
        assert.equal(res.status, 200);
        assert.ok(res.body.equals(bodies[i]), `body ${i} mixed up`);
      });
    });
  });

  describe('which scripts run warm', () => {
    test('a script with the fork server interpreter is forked by the fork server; the process shows the cold command line', async () => {
      const ppid = await ppidOf(warm.port, '/cgi-bin/ppid.py');
      assert.ok(isForkServer(ppid), `parent ${ppid}: ${cmdline(ppid)}`);
      assert.equal(await ppidOf(cold.port, '/cgi-bin/ppid.py'), process.pid, 'cold runs are children of the server');
      // ps and /proc show the script, as for a cold run (the fork server writes it over its argv).
      const marker = join(root, 'pid-cmdline');
      const pending = call(warm.port, `/cgi-bin/sleeper.py?pid-cmdline`);
      pending.catch(() => {});
      assert.ok(await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').includes(' '), 5000));
      const [pid, child] = readFileSync(marker, 'utf8').split(' ').map(Number);
      assert.equal(cmdline(pid), `${PYTHON} ${join(root, 'cgi-bin', 'sleeper.py')}\0`);
      process.kill(-pid, 'SIGKILL');
      assert.ok(await waitFor(() => !isAlive(pid) && !isAlive(child), 5000));
      assert.equal((await pending).status, 500);
    });

    test('a different interpreter or flags run cold: #!python3 -u, /bin/sh', async () => {
      assert.equal(await ppidOf(warm.port, '/cgi-bin/ppid_u.py'), process.pid);
      assert.equal(await ppidOf(warm.port, '/cgi-bin/ppid.sh'), process.pid);
    });

    test('#!/usr/bin/env python3 runs warm exactly when PATH finds the fork server interpreter', async () => {
      const found = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'python3')).find((p) => {
        try {
          return statSync(p).isFile();
        } catch {
          return false;
        }
      });
      const ppid = await ppidOf(warm.port, '/cgi-bin/ppid_env.py');
      if (found === PYTHON) assert.ok(isForkServer(ppid), 'env python3 is the fork server interpreter but ran cold');
      else assert.equal(ppid, process.pid, `env python3 is ${found}, not ${PYTHON}, but ran warm`);
    });

    test('the .py interpreter mapping is the default fork server interpreter', async () => {
      const srv = await startServer({ root, warmPython: true, interpreters: { '.py': PYTHON }, spawnHelper: false });
      try {
        // mapped.py has no execute bit: only the mapping runs it.
        assert.ok(await waitFor(async () => isForkServer(await ppidOf(srv.port, '/cgi-bin/mapped.py')), 5000));
        const a = await call(cold.port, '/cgi-bin/identity.py');
        const b = await call(srv.port, '/cgi-bin/identity.py');
        const coldMapped = await startServer({ root, warmPython: false, interpreters: { '.py': PYTHON }, spawnHelper: false });
        try {
          const c = await call(coldMapped.port, '/cgi-bin/identity.py');
          assert.deepEqual(shape(b, srv.port), shape(c, coldMapped.port));
        } finally {
          await coldMapped.close();
        }
        assert.equal(a.status, 200);
      } finally {
        await srv.close();
      }
    });

    test('command routes run cold', async () => {
      const srv = await startServer({
        root,
        warmPython: true,
        warmInterpreter: PYTHON,
        spawnHelper: false,
        routes: [{ method: 'GET', path: '/route', command: [PYTHON, join(root, 'cgi-bin', 'ppid.py')] }],
      });
      try {
        const res = await call(srv.port, '/route');
        assert.equal(res.status, 200);
        assert.match(res.body.toString(), new RegExp(`\\n${process.pid}\\n$`));
      } finally {
        await srv.close();
      }
    });
  });

  describe('the fork server compiles each version of a script once', () => {
    // Each rewrite keeps the size and puts the old times back, so only the bytes tell the versions apart.
    const rewrite = (name, content) => {
      const file = join(root, 'cgi-bin', name);
      const { atime, mtime } = statSync(file);
      writeFileSync(file, content);
      utimesSync(file, atime, mtime);
    };
    const version = (v) => `#!${PYTHON}\nimport os\nprint('Content-Type: text/plain\\n')\nprint('${v}', os.getppid())\n`;

    test('an edited script runs its new bytes at once, even with the same size and times', async () => {
      writeFileSync(join(root, 'cgi-bin', 'versioned.py'), version('AAAA'), { mode: 0o755 });
      for (const v of ['AAAA', 'BBBB', 'CCCC', 'AAAA']) {
        if (v !== readFileSync(join(root, 'cgi-bin', 'versioned.py'), 'utf8').match(/print\('(\w+)'/)[1]) rewrite('versioned.py', version(v));
        for (let i = 0; i < 2; i++) {
          const [got, ppid] = (await call(warm.port, '/cgi-bin/versioned.py')).body.toString().trim().split(' ');
          assert.equal(got, v);
          assert.ok(isForkServer(Number(ppid)), `${v} did not run warm`);
        }
      }
    });

    test('a compile-time warning reaches the log on every request, as in a cold run', async () => {
      writeFileSync(join(root, 'cgi-bin', 'warns.py'), `#!${PYTHON}\nx = 1\nif x is 1:\n    pass\nprint('Content-Type: text/plain\\n\\nok')\n`, { mode: 0o755 });
      const name = '/cgi-bin/warns.py';
      for (const srv of [cold, warm]) {
        for (let i = 0; i < 2; i++) assert.equal((await call(srv.port, name)).body.toString(), 'ok\n');
      }
      const coldLines = await waitFor(() => stderrLines(cold.logs, name).filter((l) => l.includes('SyntaxWarning')).length >= 2 && stderrLines(cold.logs, name));
      const warmLines = await waitFor(() => stderrLines(warm.logs, name).filter((l) => l.includes('SyntaxWarning')).length >= 2 && stderrLines(warm.logs, name));
      assert.ok(coldLines && warmLines, 'each request logs its SyntaxWarning');
      assert.deepEqual(warmLines, coldLines);
    });

    test('a #! line changed to another interpreter runs cold from the next request', async () => {
      const file = join(root, 'cgi-bin', 'switch.py');
      writeFileSync(file, `#!${PYTHON}\nimport os\nprint('Content-Type: text/plain\\n')\nprint(os.getppid())\n`, { mode: 0o755 });
      assert.ok(isForkServer(await ppidOf(warm.port, '/cgi-bin/switch.py')));
      writeFileSync(file, `#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s\\n' "$PPID"\n`);
      assert.ok(await waitFor(async () => (await ppidOf(warm.port, '/cgi-bin/switch.py')) === process.pid, 3000), 'the /bin/sh version still ran warm');
    });
  });

  describe('processes', () => {
    test('a killed fork server is restarted, and requests keep being answered', async () => {
      const srv = await startServer({ root, warmPython: true, warmInterpreter: PYTHON });
      try {
        let first;
        assert.ok(await waitFor(async () => isForkServer((first = await ppidOf(srv.port, '/cgi-bin/ppid.py'))), 5000));
        // A request in flight when the fork server dies still completes: its child lives on.
        const gate = 'gate-restart';
        const { inFlight } = await killForkServerDuring(srv.port, `/cgi-bin/stream_gate.py?${gate}`, first);
        const next = await call(srv.port, '/cgi-bin/ppid.py');
        assert.equal(next.status, 200, 'the request after the crash was not answered');
        writeFileSync(join(root, gate), '');
        const res = await inFlight;
        assert.equal(res.status, 200);
        assert.equal(res.text, 'line 1\nline 2 after the gate\n');
        let second;
        assert.ok(await waitFor(async () => isForkServer((second = await ppidOf(srv.port, '/cgi-bin/ppid.py'))), 8000), 'no new fork server');
        assert.notEqual(second, first);
        assert.ok(srv.logs.some((l) => l.includes('warm python: fork server exited (SIGKILL); restarting')));
      } finally {
        await srv.close();
      }
    });

    test('a fork server that answers after the server gave up on a request forks nothing for it', async () => {
      const srv = await startServer({ root, warmPython: true, warmInterpreter: PYTHON, spawnHelper: false });
      try {
        let forkServer;
        assert.ok(await waitFor(async () => isForkServer((forkServer = await ppidOf(srv.port, '/cgi-bin/ppid.py'))), 5000));
        // It cannot answer: after the start-reply deadline (5 s) the server closes the request's connection.
        const res = await whileStopped(forkServer, () => call(srv.port, '/cgi-bin/ppid.py'));
        assert.equal(res.status, 500);
        // A request sent after it reaches the same fork server, which has by then seen the stale one (accepted first).
        assert.equal(await ppidOf(srv.port, '/cgi-bin/ppid.py'), forkServer);
        await new Promise((r) => setTimeout(r, 300));
        // A child forked for it would find its `out` closed, fail and say so in the log.
        assert.deepEqual(srv.logs.filter((l) => l.includes('fork server')), []);
      } finally {
        await srv.close();
      }
    });

    test('a fork server that dies (or is closed) leaves its running children alone, even one that closed its stdin', async () => {
      const srv = await startServer({ root, warmPython: true, warmInterpreter: PYTHON });
      try {
        let first;
        assert.ok(await waitFor(async () => isForkServer((first = await ppidOf(srv.port, '/cgi-bin/ppid.py'))), 5000));
        const gate = 'gate-noin';
        const { inFlight } = await killForkServerDuring(srv.port, `/cgi-bin/stream_gate_noin.py?${gate}`, first);
        await new Promise((r) => setTimeout(r, 300));
        writeFileSync(join(root, gate), '');
        const res = await inFlight;
        assert.equal(res.status, 200);
        assert.equal(res.text, 'line 1\nline 2 after the gate\n');
        // Its end is still noticed (the --max-scripts slot freed, the request logged) with no fork server to report it.
        assert.ok(await waitFor(() => srv.logs.some((l) => l.includes(`/cgi-bin/stream_gate_noin.py?${gate} 200`)), 5000), srv.logs.join('\n'));
      } finally {
        await srv.close();
      }
    });

    test('timeout: 504 and the whole process group is gone', async () => {
      const srv = await startServer({ root, warmPython: true, warmInterpreter: PYTHON, scriptTimeout: 1 });
      try {
        assert.ok(await waitFor(async () => isForkServer(await ppidOf(srv.port, '/cgi-bin/ppid.py')), 5000));
        const res = await call(srv.port, '/cgi-bin/sleeper.py?pids-timeout');
        assert.equal(res.status, 504);
        const [pid, child] = readFileSync(join(root, 'pids-timeout'), 'utf8').split(' ').map(Number);
        assert.ok(isForkServer(parentOf(pid)) || !isAlive(pid), 'the script was not a warm child');
        assert.ok(await waitFor(() => !isAlive(pid) && !isAlive(child), 5000), 'script or its child survived the timeout');
        const line = await waitFor(() => srv.logs.find((l) => l.includes('/cgi-bin/sleeper.py?pids-timeout 504')));
        assert.match(line, / signal=SIG(TERM|KILL) /);
      } finally {
        await srv.close();
      }
    });

    test('a client that disconnects gets its script and the script children killed', async () => {
      const marker = join(root, 'pids-disconnect');
      const socket = connect(warm.port, '127.0.0.1');
      try {
        socket.on('error', () => {});
        socket.write('GET /cgi-bin/sleeper.py?pids-disconnect HTTP/1.1\r\nHost: localhost\r\n\r\n');
        assert.ok(await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').includes(' '), 5000), 'script never started');
      } finally {
        socket.destroy();
      }
      const [pid, child] = readFileSync(marker, 'utf8').split(' ').map(Number);
      assert.ok(await waitFor(() => !isAlive(pid) && !isAlive(child), 5000), 'script outlived its client');
    });

    test('junk on the fork server socket costs it nothing: incomplete requests are freed, bad ones dropped', async () => {
      const srv = await startServer({ root, warmPython: true, warmInterpreter: PYTHON });
      try {
        let pid;
        assert.ok(await waitFor(async () => isForkServer((pid = await ppidOf(srv.port, '/cgi-bin/ppid.py'))), 5000));
        const socketPath = cmdline(pid).split(/[\0 ]/).find((a) => a.includes('scriptserve-warm-'));
        const fdCount = () => readdirSync(`/proc/${pid}/fd`).length;
        const before = fdCount();
        const send = (text) => new Promise((resolve) => {
          const s = connect(socketPath, () => s.end(text));
          s.on('error', resolve);
          s.on('close', resolve);
          s.resume();
        });
        const junk = [];
        for (let i = 0; i < 40; i++) {
          junk.push(`lone${i} out\n{"script": "/nowhere.py", "stdin": null}\n`); // waits for its `in`, then hangs up
          junk.push(`pair${i} in\n`, `pair${i} out\n`); // two of a group hanging up in the same poll batch
          junk.push(`deep${i} out\n${'['.repeat(100000)}\n`); // json.loads: RecursionError
          junk.push(`x${i} nonsense\n`);
          junk.push(`half${i} out\n{"script": 1}\n`);
          junk.push(`long${i} out\n{"script": "/nowhere.py", "stdin": 2}\nabc`); // more than the body it declared
          junk.push(`neg${i} out\n{"script": "/nowhere.py", "stdin": -1}\n`);
          junk.push(`early${i} in\nbody before the reply`);
          junk.push('no newline at all');
        }
        await Promise.all(junk.map(send));
        assert.ok(await waitFor(() => fdCount() <= before, 5000), `fork server holds ${fdCount()} descriptors, had ${before}`);
        assert.ok(isAlive(pid), 'the fork server died');
        assert.equal(await ppidOf(srv.port, '/cgi-bin/ppid.py'), pid, 'requests still run warm in the same fork server');
      } finally {
        await srv.close();
      }
    });

    test('only the server may use the fork server: a complete, well-formed request from another process is closed unread', async () => {
      // A script is such a process: it could read the ids of requests in
      // flight from the memory its fork server left it, and forge one.
      const srv = await startServer({ root, warmPython: true, warmInterpreter: PYTHON });
      const marker = join(root, 'forged-ran');
      const dir = tempDir();
      try {
        let pid;
        assert.ok(await waitFor(async () => isForkServer((pid = await ppidOf(srv.port, '/cgi-bin/ppid.py'))), 5000));
        const socketPath = cmdline(pid).split(/[\0 ]/).find((a) => a.includes('scriptserve-warm-'));
        writeFileSync(join(dir, 'touch.py'), `open(${JSON.stringify(marker)}, 'w').close()\n`);
        const request = { script: join(dir, 'touch.py'), cwd: dir, env: {}, cmdline: [PYTHON, join(dir, 'touch.py')], title: 'x\0', comm: 'x', stdin: 0 };
        const client = `import socket, sys
path, req = sys.argv[1], sys.argv[2].encode()
conns = []
try:
    s = socket.socket(socket.AF_UNIX); s.connect(path); conns.append(s); s.sendall(b'forged out\\n' + req + b'\\n')
    conns[0].settimeout(5)
    print(repr(conns[0].recv(100)))
except (BrokenPipeError, ConnectionResetError):
    print("b''")  # closed by the fork server: nothing was answered
`;
        // Not spawnSync: the server under test runs in this process and must keep running meanwhile.
        const stdout = await new Promise((resolve, reject) => {
          execFile(PYTHON, ['-c', client, socketPath, JSON.stringify(request)], { encoding: 'utf8', timeout: 10000 }, (err, out) => (err ? reject(err) : resolve(out)));
        });
        assert.equal(stdout.trim(), "b''", 'the fork server answered a foreign peer');
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(existsSync(marker), false, 'a foreign peer had a script run');
        assert.equal(await ppidOf(srv.port, '/cgi-bin/ppid.py'), pid, 'requests still run warm in the same fork server');
      } finally {
        await srv.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a preloaded module that prints (no newline) goes to the log and cannot hide the ready line', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'noisy_preload.py'), "import sys\nsys.stdout.write('noisy without newline')\n");
      const saved = process.env.PYTHONPATH;
      process.env.PYTHONPATH = dir;
      let srv;
      try {
        srv = await startServer({ root, warmPython: true, warmInterpreter: PYTHON, warmPreload: ['json', 'noisy_preload'], passEnv: ['PYTHONPATH'] });
      } finally {
        if (saved === undefined) delete process.env.PYTHONPATH;
        else process.env.PYTHONPATH = saved;
      }
      try {
        const started = Date.now();
        const parent = await ppidOf(srv.port, '/cgi-bin/ppid.py');
        assert.ok(isForkServer(parent), 'the first request ran cold: the fork server was never seen as ready');
        assert.ok(Date.now() - started < 2500, 'the first request waited for a ready line that never came');
      } finally {
        await srv.close();
        rmSync(dir, { recursive: true, force: true });
      }
      // Its stderr, where the print went, is logged a line at a time: this one ends when the fork server does.
      assert.ok(await waitFor(() => srv.logs.some((l) => l.includes('noisy without newline'))), srv.logs.join('\n'));
    });

    test('closing the server stops the fork server and removes its socket directory', async () => {
      const srv = await startServer({ root, warmPython: true, warmInterpreter: PYTHON });
      let pid;
      assert.ok(await waitFor(async () => isForkServer((pid = await ppidOf(srv.port, '/cgi-bin/ppid.py'))), 5000));
      const socketPath = cmdline(pid).split(/[\0 ]/).find((a) => a.includes('scriptserve-warm-'));
      assert.ok(socketPath && existsSync(socketPath), 'socket not found');
      await srv.close();
      assert.ok(await waitFor(() => !isAlive(pid), 5000), 'fork server outlived its server');
      assert.equal(existsSync(join(socketPath, '..')), false, 'socket directory left behind');
    });
  });

  describe('configuration', () => {
    test('bad preload names and interpreters that run other code are errors at start-up', async () => {
      await assert.rejects(startServer({ root, warmPython: true, warmPreload: ['json', 'os; import evil'] }), /module names/);
      await assert.rejects(startServer({ root, warmPython: true, warmPreload: 'json' }), /warmPreload.*list of strings/);
      await assert.rejects(startServer({ root, warmPython: true, warmInterpreter: `${PYTHON} -m http.server` }), /-c, -m/);
      await assert.rejects(startServer({ root, warmPython: true, warmInterpreter: `${PYTHON} -uc pass` }), /-c, -m/);
      await assert.rejects(startServer({ root, warmPython: 'yes' }), /warmPython.*boolean/);
      await assert.rejects(startServer({ root, warmPython: true, warmInterpreter: '/no/such/python' }), /warm interpreter.*not found/);
    });

    test('an interpreter that is not a tested CPython is refused at start-up: createServer throws, the CLI exits 1 with one line', async () => {
      const dir = tempDir();
      try {
        // What the start-up probe of each would print (sys.implementation.name and the version).
        const fakes = [['cpython 3.9.18', 'CPython 3.9.18'], ['pypy 3.10.14', 'pypy 3.10.14'], ['cpython 3.14.0', 'CPython 3.14.0']];
        const cases = fakes.map(([printed, refused], i) => {
          const path = join(dir, `python${i}`);
          writeFileSync(path, `#!/bin/sh\necho '${printed}'\n`, { mode: 0o755 });
          return [path, refused];
        });
        // A real untested interpreter too, where pyenv has one.
        const old = join(homedir(), '.pyenv/versions/3.9.18/bin/python3');
        if (existsSync(old)) cases.push([old, 'CPython 3.9.18']);
        for (const [path, refused] of cases) {
          const why = `warm python: ${path}: ${refused} is not a tested interpreter (CPython `;
          await assert.rejects(startServer({ root, warmPython: true, warmInterpreter: path }), (err) => err.message.startsWith(why));
          const cli = await runCli(['-p', '0', '-d', root, '--warm-python', '--warm-interpreter', path]);
          assert.equal(cli.code, 1, path);
          assert.equal(cli.stdout, '');
          assert.equal(cli.stderr.split('\n').length, 2, `one line: ${cli.stderr}`);
          assert.ok(cli.stderr.startsWith(`scriptserve: ${why}`), cli.stderr);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('a preload module that does not exist is logged and the server still runs scripts warm', async () => {
      const srv = await startServer({ root, warmPython: true, warmInterpreter: PYTHON, warmPreload: ['json', 'no_such_module_xyz'] });
      try {
        assert.ok(await waitFor(async () => isForkServer(await ppidOf(srv.port, '/cgi-bin/ppid.py')), 5000));
        assert.ok(srv.logs.some((l) => l.includes('cannot preload no_such_module_xyz')));
      } finally {
        await srv.close();
      }
    });

    test('the config file turns it on', async () => {
      const dir = realpathSync(tempDir('scriptserve-warm-config-'));
      try {
        writeTree(dir, {
          'cgi-bin/ppid.py': SCRIPTS['cgi-bin/ppid.py'],
          'scriptserve.json': JSON.stringify({ warmPython: true, warmInterpreter: PYTHON, warmPreload: ['json'] }),
        });
        const srv = await startServer({ root: dir });
        try {
          assert.ok(await waitFor(async () => isForkServer(await ppidOf(srv.port, '/cgi-bin/ppid.py')), 5000));
        } finally {
          await srv.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('CLI: --help documents the flags and defaults; --warm-python runs scripts warm; SIGKILL leaves nothing behind', async () => {
      const help = await runCli(['--help']);
      assert.equal(help.code, 0);
      const text = help.stdout.replace(/\s+/g, ' ');
      assert.match(text, /--warm-python/);
      assert.match(text, /--warm-preload <modules> .*\(default: os,sys,io,re,json,/);
      assert.match(text, /--warm-interpreter <command> .*\(default: the \.py --interpreter, else python3 from PATH\)/);
      const cli = await startCli(['--port', '0', '-q', '-d', root, '--warm-python', '--warm-interpreter', PYTHON, '--warm-preload', 'json,re']);
      try {
        const ppid = await waitFor(async () => {
          const p = await ppidOf(cli.port, '/cgi-bin/ppid.py');
          return p !== cli.child.pid && parentOf(p) === cli.child.pid && cmdline(p).includes(HELPER_PROGRAM) ? p : 0;
        }, 5000);
        assert.ok(ppid, 'the CLI server did not run the script warm');
        assert.match(cmdline(ppid), /[\0 ]json,re[\0 ]/);
        // A server killed outright takes its fork server and socket directory with it.
        const socketDir = join(cmdline(ppid).split(/[\0 ]/).find((a) => a.includes('scriptserve-warm-')), '..');
        assert.ok(existsSync(socketDir));
        cli.child.kill('SIGKILL');
        assert.ok(await waitFor(() => !isAlive(ppid) && !existsSync(socketDir), 5000), 'fork server or its directory outlived a killed server');
      } finally {
        await cli.stop();
      }
    });
  });
});
