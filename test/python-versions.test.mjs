// Every CPython version in TESTED_PYTHON_VERSIONS that is present here runs
// warm and as the spawn helper: a compact subset of test/warm.test.mjs (which
// runs in full with Debian's python3) and of test/spawn-helper.test.mjs per
// version. A listed version with no interpreter here is a skipped test that
// says so, not a failure: the list says which versions the tests have
// covered somewhere, this file checks every one this machine has.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TESTED_PYTHON_VERSIONS } from '../dist/cgi/start/python-gate.js';
import { PYTHON, isForkServerChild, request, rmSync, startServer, tempDir, waitFor, writeTree } from './helpers.mjs';

const HOST = { Host: 'localhost' };
const HEAD = "import sys\nsys.stdout.write('Content-Type: text/plain\\n\\n')\nsys.stdout.flush()\n";

/** The version (major.minor.micro) of an interpreter. */
function versionOf(python) {
  return execFileSync(python, ['-I', '-S', '-c', "import sys; print('%d.%d.%d' % sys.version_info[:3])"], { encoding: 'utf8' }).trim();
}

/** One interpreter per listed version: Debian's python3 when it is that version, else /usr/bin/pythonX.Y, else pyenv's newest. */
function interpreterFor(minor) {
  if (versionOf(PYTHON).startsWith(`${minor}.`)) return PYTHON;
  if (existsSync(`/usr/bin/python${minor}`)) return `/usr/bin/python${minor}`;
  const pyenv = join(homedir(), '.pyenv', 'versions');
  const found = (existsSync(pyenv) ? readdirSync(pyenv) : [])
    .filter((v) => v.startsWith(`${minor}.`) && /^\d+\.\d+\.\d+$/.test(v))
    .sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]))
    .map((v) => join(pyenv, v, 'bin', 'python3'))
    .find((p) => existsSync(p));
  return found ?? null;
}

function scripts(python) {
  const py = (body) => ({ content: `#!${python}\n${body}`, mode: 0o755 });
  return {
    'cgi-bin/env.py': py(`import os, sys
body = sys.stdin.buffer.read()
${HEAD}for k, v in sorted(os.environ.items()):
    print(f'{k}={v}')
print('body', len(body))
`),
    'cgi-bin/identity.py': py(`"""A docstring."""
import os, sys
${HEAD}print(repr(sys.argv), repr(sys.orig_argv), sys.executable)
print(sys.path[0], os.getcwd())
print(__name__, __file__, __doc__, __cached__, __spec__, __package__, __loader__.name)
print(list(globals())[:9])
print('session leader', os.getsid(0) == os.getpid(), 'flags', sys.flags)
print(sorted(m for m in sys.modules if 'scriptserve' in m))
print(' '.join(sorted((fd for fd in os.listdir('/proc/self/fd') if int(fd) < 10), key=int)))  # above: what the test harness leaks to cold runs
`),
    'cgi-bin/signals.py': py(`import signal
${HEAD}for name in ('SIGPIPE', 'SIGINT', 'SIGCHLD', 'SIGTERM', 'SIGXFSZ', 'SIGHUP', 'SIGUSR1'):
    print(name, signal.getsignal(getattr(signal, name)))
print('blocked', sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])))
`),
    'cgi-bin/stdio.py': py(`import sys
${HEAD}for name in ('stdin', 'stdout', 'stderr'):
    s = getattr(sys, name)
    print(name, s.encoding, s.errors, s.line_buffering, s.write_through, type(s.buffer).__name__, s.fileno())
`),
    'cgi-bin/exception.py': py(`${HEAD}print('started')\nraise RuntimeError('boom after headers')\n`),
    'cgi-bin/exit_string.py': py(`${HEAD}print('bye')\nsys.exit('leaving with a message')\n`),
    'cgi-bin/interrupt.py': py(`${HEAD}print('before')\nraise KeyboardInterrupt\n`),
    'cgi-bin/atexit_threads.py': py(`import atexit, threading, time
${HEAD}atexit.register(lambda: print('atexit ran'))
def late():
    time.sleep(0.1)
    print('thread finished after main', flush=True)
threading.Thread(target=late).start()
print('main returns')
`),
    'cgi-bin/ppid.py': py(`import os\n${HEAD}print(os.getppid())\n`),
    'cgi-bin/ppid.sh': { content: '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n%s\\n" "$PPID"\n', mode: 0o755 },
  };
}

const ROWS = [
  ['/cgi-bin/env.py?a=1', 'POST', 'some body'],
  ['/cgi-bin/identity.py', 'GET'],
  ['/cgi-bin/signals.py', 'GET'],
  ['/cgi-bin/stdio.py', 'GET'],
  ['/cgi-bin/exception.py', 'GET'],
  ['/cgi-bin/exit_string.py', 'GET'],
  ['/cgi-bin/interrupt.py', 'GET'],
  ['/cgi-bin/atexit_threads.py', 'GET'],
];

/** Status, headers but Date, body (ports masked), and the script's stderr lines in the log. */
async function outcome(srv, [path, method, body]) {
  const res = await request(srv.port, path, { method, headers: HOST, body, timeout: 20000 });
  const headers = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i].toLowerCase() !== 'date') headers.push(res.rawHeaders.slice(i, i + 2).join(': '));
  const text = res.body.toString('latin1').replace(/^(SERVER_PORT|REMOTE_PORT)=\d+$/gm, '$1=*');
  const script = path.split('?')[0];
  // A script's stderr is all logged before its access line (which waits for its exit), though maybe after its answer.
  assert.ok(await waitFor(() => srv.logs.some((l) => (l.includes(` ${script} `) || l.includes(` ${script}?`)) && / exit=| signal=/.test(l)), 3000), `no access line for ${script}`);
  const stderr = srv.logs.filter((l) => l.includes(` ${script}: `)).map((l) => l.slice(l.indexOf(' ') + 1));
  srv.logs.length = 0;
  return { status: res.status, headers, text, stderr };
}

const ppidOf = async (port, path) => Number((await request(port, path, { method: 'POST', headers: HOST })).body.toString().trim());

for (const minor of TESTED_PYTHON_VERSIONS) {
  const python = interpreterFor(minor);
  const skip = python === null ? `CPython ${minor} is listed as tested but not installed here` : python === PYTHON ? `CPython ${minor} is ${PYTHON}: test/warm.test.mjs runs in full with it` : false;
  describe(`CPython ${minor}${python ? ` (${python})` : ''}`, { skip }, () => {
    let root;
    let cold;
    let warm;
    before(async () => {
      root = realpathSync(tempDir('scriptserve-pyver-'));
      writeTree(root, scripts(python));
      cold = await startServer({ root, warmPython: false, spawnHelper: false });
      warm = await startServer({ root, warmPython: true, warmInterpreter: python, warmPreload: ['json'], spawnHelper: false });
      assert.ok(await waitFor(async () => isForkServerChild(await ppidOf(warm.port, '/cgi-bin/ppid.py')), 8000), 'never ran warm');
    });
    after(async () => {
      await cold?.close();
      await warm?.close();
      if (root) rmSync(root, { recursive: true, force: true });
    });

    test('warm runs answer and log byte for byte as cold ones', async () => {
      for (const row of ROWS) assert.deepEqual(await outcome(warm, row), await outcome(cold, row), row[0]);
    });

    test('as the spawn helper: ready, and its children are what child_process.spawn makes', async () => {
      const bin = join(root, 'bin');
      mkdirSync(bin);
      symlinkSync(python, join(bin, 'python3'));
      const saved = process.env.PATH;
      process.env.PATH = `${bin}:${saved}`; // the helper is python3 from PATH, found when the server is made
      let helped;
      let plain;
      try {
        helped = await startServer({ root, warmPython: false });
        plain = await startServer({ root, warmPython: false, spawnHelper: false }); // the same PATH for its scripts
      } finally {
        process.env.PATH = saved;
      }
      try {
        assert.ok(await waitFor(async () => isForkServerChild(await ppidOf(helped.port, '/cgi-bin/ppid.sh')), 8000), `the helper never became ready: ${helped.logs.join('\n')}`);
        for (const row of ROWS.slice(0, 4)) assert.deepEqual(await outcome(helped, row), await outcome(plain, row), row[0]);
      } finally {
        await helped?.close();
        await plain?.close();
      }
    });
  });
}
