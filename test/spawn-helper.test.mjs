import { createServer as createHttpServer, request as httpRequest } from 'node:http';
// The spawn helper: cold runs (and command routes) started by a small
// forkserver.py process with posix_spawn instead of Node forking itself. A
// script must not be able to tell: same argv, environment bytes, working
// directory, session, signal dispositions and mask, descriptors and their
// flags, umask and limits as child_process.spawn gives. Then: it starts with
// the first script, a dead helper costs no request, a child's early write to
// its stdin cannot pass for a reply, and every descriptor is given back.
// In warm mode (SCRIPTSERVE_TEST_WARM=1) the helper is the warm fork server.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, realpathSync, symlinkSync, mkdirSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createHandler } from '../dist/index.js';
import { PYTHON, WARM, isAlive, isForkServerChild, parentOf, request, rmSync, startCli, startServer, tempDir, waitFor, whileStopped, writeTree } from './helpers.mjs';

const sh = (body) => ({ content: `#!/bin/sh\n${body}`, mode: 0o755 });
const HEAD = "printf 'Content-Type: text/plain\\n\\n'\n";

const SCRIPTS = {
  // Everything a process inherits from whoever started it, minus what differs between two servers.
  'cgi-bin/identity.sh': sh(`${HEAD}echo "argv: $0 $# $*"
echo "cwd: $(pwd)"
set -- $(cut -d' ' -f5,6,19 /proc/$$/stat)
[ "$1" = $$ ] && [ "$2" = $$ ] && echo "own session and group" || echo "group $1 session $2 of $$"
echo "nice: $3"
# Read with the shell's own read, never from a child: dash blocks every signal while it forks
# and waits, so a child reading /proc/$$/status (grep did) may catch that window (issue 13).
while read -r key value; do case $key in SigBlk:|SigIgn:|SigCgt:|Cpus_allowed_list:|NoNewPrivs:|Seccomp:) echo "$key	$value";; esac; done < /proc/$$/status
echo "fds: $(ls /proc/$$/fd | tr '\\n' ' ')"
for fd in 0 1 2; do echo "fd $fd $(grep flags /proc/$$/fdinfo/$fd)"; done
echo "umask: $(umask)"
ulimit -a
env | LC_ALL=C sort | grep -v -E '^(REMOTE_PORT|SERVER_PORT)='
echo "stdin: $(cat)"
`),
  'cgi-bin/ppid.sh': sh(`${HEAD}echo "$PPID"\n`),
  'cgi-bin/slow.sh': sh(`${HEAD}echo started\nsleep 1\necho "finished $PPID"\n`),
  'cgi-bin/late.sh': sh(`echo ran >> "$DOCUMENT_ROOT/late.runs"\n${HEAD}echo late\n`),
  'cgi-bin/slowerr.sh': sh(`${HEAD}echo started\nsleep 1\necho note >&2\necho finished\n`),
  'cgi-bin/hang.sh': sh(`echo "$$" > "$DOCUMENT_ROOT/hang.pid"\nsleep 30 &\necho "$!" >> "$DOCUMENT_ROOT/hang.pid"\nwait\n`),
  // Writes to its own stdin (a socket to the server) before anything else, in the words of a reply.
  'cgi-bin/talkback.sh': sh(`printf 'failed x no\\nspawning\\npid 1\\n' >&0\necho run >> "$DOCUMENT_ROOT/talkback.runs"\n${HEAD}echo ok\n`),
  'cgi-bin/badhead.sh': sh(`printf 'this is not a header\\n\\n'\nhead -c 300000 /dev/zero\n`),
  'cgi-bin/badhead.py': { content: `#!${PYTHON}\nimport sys\nsys.stdout.write('not a header either\\n\\n' + 'x' * 300000)\n`, mode: 0o755 },
  'cgi-bin/flood.sh': sh(`${HEAD}exec yes flood`),
  'cgi-bin/flood.py': { content: `#!${PYTHON}\nimport sys\nsys.stdout.write('Content-Type: text/plain\\n\\n')\nwhile True:\n    sys.stdout.write('flood\\n' * 1000)\n`, mode: 0o755 },
  // Closes its stdin at once, then answers late: the rest of a big body must be discarded, not wait for it.
  'cgi-bin/closein.sh': sh(`exec 0<&-\nsleep 3\n${HEAD}echo done\n`),
  'cgi-bin/closein.py': { content: `#!${PYTHON}\nimport os, time\nos.close(0)\ntime.sleep(3)\nprint('Content-Type: text/plain\\n\\ndone')\n`, mode: 0o755 },
  'cgi-bin/cat.sh': sh(`echo "to stderr: $CONTENT_LENGTH" >&2\n${HEAD}exec cat\n`),
  'cgi-bin/errflood.sh': sh(`printf 'first line\\nsecond ' >&2\nhead -c 100000 /dev/zero | tr '\\0' e >&2\n${HEAD}echo fine\n`),
  'cgi-bin/whoami.sh': sh(`${HEAD}echo "$(id -u) $(id -g) $PPID"\n`),
  'cgi-bin/noshebang.sh': { content: `echo 'Content-Type: text/plain'\necho\necho no shebang\n`, mode: 0o755 },
  'cgi-bin/nointerp.sh': { content: '#!/no/such/interpreter\n', mode: 0o755 },
};

const isHelper = isForkServerChild;
const helpers = () => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter(isHelper);
const ownFds = () => readdirSync('/proc/self/fd').length;

async function post(port, path, body = '', headers = {}) {
  return request(port, path, { method: 'POST', body, headers: { Host: 'localhost', ...headers } });
}

async function ppidOf(port) {
  const res = await post(port, '/cgi-bin/ppid.sh');
  assert.equal(res.status, 200);
  return Number(res.body.toString().trim());
}

/** Wait until the server's scripts start from its helper; returns the helper's pid. */
async function helperOf(srv) {
  const pid = await waitFor(async () => {
    const ppid = await ppidOf(srv.port);
    return isHelper(ppid) ? ppid : 0;
  }, 10000);
  assert.ok(pid, 'scripts never started from the spawn helper');
  return pid;
}

describe('spawn helper', () => {
  let root;
  let plain;
  let helped;

  before(async () => {
    root = realpathSync(tempDir('scriptserve-spawn-test-'));
    writeTree(root, SCRIPTS);
    plain = await startServer({ root, spawnHelper: false });
    helped = await startServer({ root });
    await helperOf(helped);
  });

  after(async () => {
    await plain?.close();
    await helped?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('a script started by the helper sees exactly what child_process.spawn gives it', async () => {
    // A header byte outside ASCII reaches the environment as Node encodes it (UTF-8 of its latin1 reading).
    const headers = { 'X-Name': 'caf\u00e9', 'X-Empty': '' };
    const a = await post(plain.port, '/cgi-bin/identity.sh?q=1', 'the body', headers);
    const b = await post(helped.port, '/cgi-bin/identity.sh?q=1', 'the body', headers);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const text = a.body.toString('latin1');
    assert.match(text, /own session and group/);
    assert.match(text, /^SigBlk:\s+0+$/m);
    assert.match(text, /^fd 0 flags:\t02$/m, 'stdin is blocking, read-write');
    assert.match(text, /HTTP_X_NAME=caf\u00c3/);
    assert.match(text, /stdin: the body/);
    assert.deepEqual(b.body.toString('latin1').split('\n'), text.split('\n'));
  });

  test('bodies on both sides of the whole-body limit reach the script byte for byte, with or without the helper', async () => {
    // Up to 64 KiB the body goes with the start (RunOptions.stdin); above, it streams on its own connection.
    for (const size of [0, 1, 65535, 65536, 65537, 300000]) {
      const body = Buffer.alloc(size);
      for (let i = 0; i < size; i++) body[i] = (i * 7 + (i >> 8)) & 0xff;
      for (const srv of [plain, helped]) {
        const res = await post(srv.port, '/cgi-bin/cat.sh', body);
        assert.equal(res.status, 200, `${size} bytes`);
        assert.ok(res.body.equals(body), `${size} bytes came back ${res.body.length} bytes, or changed (${srv === plain ? 'spawn' : 'helper'})`);
        assert.ok(await waitFor(() => srv.logs.some((l) => l.includes(`/cgi-bin/cat.sh: to stderr: ${size}`))), `stderr of the ${size}-byte run not logged`);
      }
      // A chunked body of the same size: spooled, then the same two ways.
      const chunked = await new Promise((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: helped.port, path: '/cgi-bin/cat.sh', method: 'POST', headers: { Host: 'localhost', 'Transfer-Encoding': 'chunked' } }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.ok(chunked.equals(body), `chunked ${size} bytes came back ${chunked.length} bytes, or changed`);
    }
  });

  test("a script's stderr through the helper: logged in lines, cut at the log's share with a note, as without it", async () => {
    for (const srv of [plain, helped]) {
      const before = srv.logs.length;
      const res = await post(srv.port, '/cgi-bin/errflood.sh');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'fine\n');
      assert.ok(await waitFor(() => srv.logs.slice(before).some((l) => l.includes('[stderr truncated after 65536 bytes]'))), 'no truncation note');
      const mine = srv.logs.slice(before).filter((l) => l.includes('/cgi-bin/errflood.sh: '));
      assert.ok(mine[0].endsWith('/cgi-bin/errflood.sh: first line'), mine[0]);
      const logged = mine.slice(1, -1).map((l) => l.slice(l.indexOf('errflood.sh: ') + 13)).join('');
      assert.equal(logged, 'second ' + 'e'.repeat(65536 - 'first line\nsecond '.length));
    }
  });

  test('the helper is the parent; without it, the server is', async () => {
    assert.ok(isHelper(await ppidOf(helped.port)));
    assert.equal(await ppidOf(plain.port), process.pid);
  });

  test('command routes start from the helper too, with the same output', async () => {
    const routes = [{ method: 'POST', path: '/r', command: ['/bin/sh', join(root, 'cgi-bin', 'identity.sh')] }];
    const a = await startServer({ root, routes, spawnHelper: false });
    const b = await startServer({ root, routes });
    try {
      await helperOf(b);
      const ra = await post(a.port, '/r', 'x');
      const rb = await post(b.port, '/r', 'x');
      assert.equal(ra.status, 200);
      assert.deepEqual(rb.body.toString('latin1'), ra.body.toString('latin1'));
      const pp = await request(b.port, '/r', { method: 'POST', headers: { Host: 'localhost' } });
      assert.equal(pp.status, 200);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('it starts with the first script, not before; no script, no helper', async () => {
    // Helpers of other servers may still be going away: only new ones count.
    const before = new Set(helpers());
    const added = () => helpers().filter((pid) => !before.has(pid));
    const srv = await startServer({ root, warmPython: false });
    let helper = 0;
    try {
      assert.equal((await request(srv.port, '/hello.txt')).status, 404);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(added(), [], 'a helper started with no script run');
      // The first script does not wait for it: it is spawned by the server itself.
      assert.equal(await ppidOf(srv.port), process.pid);
      helper = await helperOf(srv);
      assert.deepEqual(added(), [helper]);
    } finally {
      await srv.close();
    }
    assert.ok(await waitFor(() => !isAlive(helper), 5000), 'the helper outlived its server');
  });

  test('a killed helper costs no request: scripts start from the server until it is back', async () => {
    const srv = await startServer({ root });
    try {
      const first = await helperOf(srv);
      // A script running through the kill finishes and answers in full (this one writes no stderr: a
      // script's stderr is read by its helper, so after the kill a write to it fails, as docs/spawn-helper.md says).
      const slow = post(srv.port, '/cgi-bin/slow.sh');
      await new Promise((r) => setTimeout(r, 300));
      process.kill(first, 'SIGKILL');
      assert.ok(await waitFor(() => !isAlive(first), 5000));
      for (let i = 0; i < 5; i++) assert.equal((await post(srv.port, '/cgi-bin/ppid.sh')).status, 200);
      const done = await slow;
      assert.equal(done.status, 200);
      assert.equal(done.body.toString(), `started\nfinished ${first}\n`);
      const second = await helperOf(srv);
      assert.notEqual(second, first);
    } finally {
      await srv.close();
    }
  });

  test('a helper that answers after the server gave up on a request starts nothing for it', async () => {
    const srv = await startServer({ root });
    try {
      const pid = await helperOf(srv);
      // The helper cannot answer: after the start-reply deadline (5 s) the server closes the request's connection.
      const res = await whileStopped(pid, () => post(srv.port, '/cgi-bin/late.sh'));
      assert.equal(res.status, 500);
      // A request sent after it reaches the same helper, which has by then seen the stale one (accepted first).
      assert.equal(await ppidOf(srv.port), pid);
      await new Promise((r) => setTimeout(r, 300));
      assert.throws(() => readFileSync(join(root, 'late.runs')), { code: 'ENOENT' }, 'the script ran, with no timeout over it');
    } finally {
      rmSync(join(root, 'late.runs'), { force: true });
      await srv.close();
    }
  });

  test('a helper out of descriptors starts nothing and lives on: the server runs the script itself', async () => {
    const srv = await startServer({ root });
    try {
      const pid = await helperOf(srv);
      await new Promise((r) => setTimeout(r, 200)); // the last request's descriptors are given back
      // Its lowest free descriptor number is the last it may open: it accepts the request's
      // connection, and then has none for the child's stdin and stderr (EMFILE).
      const open = new Set(readdirSync(`/proc/${pid}/fd`).map(Number));
      let free = 0;
      while (open.has(free)) free++;
      const setLimit = (soft) => new Promise((resolve, reject) => {
        const code = 'import resource, sys\np = int(sys.argv[1])\nhard = resource.prlimit(p, resource.RLIMIT_NOFILE)[1]\nresource.prlimit(p, resource.RLIMIT_NOFILE, (int(sys.argv[2]) if sys.argv[2] != "-" else hard, hard))';
        execFile(PYTHON, ['-c', code, String(pid), soft], (err) => (err ? reject(err) : resolve()));
      });
      await setLimit(String(free + 1));
      try {
        for (let i = 0; i < 3; i++) {
          const res = await post(srv.port, '/cgi-bin/ppid.sh', i === 1 ? '' : 'body');
          assert.equal(res.status, 200);
          assert.equal(Number(res.body.toString().trim()), process.pid, 'the script started from the server');
        }
        assert.ok(isAlive(pid), 'the helper died of it');
      } finally {
        await setLimit('-').catch(() => {}); // gone, if it died of it
      }
      assert.equal(await ppidOf(srv.port), pid, 'the same helper starts scripts again');
      assert.ok(srv.logs.some((l) => l.includes('cannot start a child') && l.includes('Too many open files')), 'no log line says why');
    } finally {
      await srv.close();
    }
  });

  test('a handler closed while a script runs: the script finishes, its stderr logged (the helper outlives it)', async () => {
    const logs = [];
    const handler = createHandler({ root, log: (line) => logs.push(line), ...(WARM ? { warmPython: true, warmInterpreter: PYTHON } : {}) });
    const server = createHttpServer(handler);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address();
    try {
      const pid = await helperOf({ port });
      const slow = post(port, '/cgi-bin/slowerr.sh');
      await new Promise((r) => setTimeout(r, 300));
      handler.close();
      const res = await slow;
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'started\nfinished\n');
      assert.ok(await waitFor(() => logs.some((l) => l.includes('/cgi-bin/slowerr.sh: note')), 2000), 'its stderr was not logged');
      assert.ok(await waitFor(() => !isAlive(pid), 3000), 'the helper outlived its last script');
      assert.equal(await ppidOf(port), process.pid, 'a script after close() starts from the server');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('a timeout still stops the whole process group of a script the helper started', async () => {
    const srv = await startServer({ root, scriptTimeout: 1 });
    try {
      await helperOf(srv);
      const res = await post(srv.port, '/cgi-bin/hang.sh');
      assert.equal(res.status, 504);
      const pids = readFileSync(join(root, 'hang.pid'), 'utf8').trim().split('\n').map(Number);
      assert.equal(pids.length, 2);
      assert.ok(isHelper(parentOf(pids[0]) ?? 0) || !isAlive(pids[0]));
      assert.ok(await waitFor(() => pids.every((p) => !isAlive(p)), 5000), 'the script or its child outlived the timeout');
    } finally {
      await srv.close();
    }
  });

  test('a script that closes its stdin: the server stops feeding it and its late answer arrives', async () => {
    const srv = await startServer({ root, requestTimeout: 2 });
    try {
      await helperOf(srv);
      const body = Buffer.alloc(4 << 20, 0x61);
      const answers = await Promise.all(['closein.sh', 'closein.py'].map((name) => post(srv.port, `/cgi-bin/${name}`, body)));
      for (const res of answers) {
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'done\n');
      }
    } finally {
      await srv.close();
    }
  });

  test('a server that drops privileges after the helper started: scripts run as its new user', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
    chmodSync(root, 0o755); // readable once the server is nobody
    const program = `
      import { createServer } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      import { request } from 'node:http';
      const server = createServer({ root: ${JSON.stringify(root)} });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      const ask = () => new Promise((resolve, reject) => {
        const req = request({ port: server.address().port, path: '/cgi-bin/whoami.sh', method: 'POST', headers: { Host: 'localhost' } }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text.trim()));
        });
        req.on('error', reject);
        req.end();
      });
      const lines = [];
      for (let i = 0; i < 40 && !(lines.at(-1) ?? '').endsWith(' helper'); i++) {
        const [uid, gid, ppid] = (await ask()).split(' ');
        lines.push(uid + ' ' + gid + ' ' + (Number(ppid) === process.pid ? 'server' : 'helper'));
        await new Promise((r) => setTimeout(r, 50));
      }
      process.setgroups([65534]);
      process.setgid(65534);
      process.setuid(65534);
      for (let i = 0; i < 3; i++) {
        const [uid, gid, ppid] = (await ask()).split(' ');
        lines.push(uid + ' ' + gid + ' ' + (Number(ppid) === process.pid ? 'server' : 'helper'));
      }
      console.log(JSON.stringify(lines));
      process.exit(0);
    `;
    const out = await new Promise((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', program], { timeout: 20000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
    });
    const lines = JSON.parse(out);
    assert.equal(lines.at(-4), '0 0 helper', 'scripts never started from the helper while root');
    assert.deepEqual(lines.slice(-3), ['65534 65534 server', '65534 65534 server', '65534 65534 server']);
  });

  test('what a script writes to its stdin is never read as a reply: it runs once, and answers', async () => {
    rmSync(join(root, 'talkback.runs'), { force: true });
    for (let i = 0; i < 4; i++) {
      const res = await post(helped.port, '/cgi-bin/talkback.sh', 'body');
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'ok\n');
    }
    assert.equal(readFileSync(join(root, 'talkback.runs'), 'utf8'), 'run\n'.repeat(4));
  });

  test('a program the helper cannot start fails as it does without the helper', async () => {
    for (const name of ['noshebang.sh', 'nointerp.sh']) {
      const a = await post(plain.port, `/cgi-bin/${name}`);
      const b = await post(helped.port, `/cgi-bin/${name}`);
      assert.equal(b.status, a.status, name);
      assert.deepEqual(b.body, a.body, name);
    }
    assert.equal((await post(helped.port, '/cgi-bin/noshebang.sh')).body.toString(), 'no shebang\n');
    assert.ok(helped.logs.some((l) => l.includes('cannot start /cgi-bin/nointerp.sh')));
  });

  test('output nobody reads any more drains and closes: no descriptor is left behind', async () => {
    await helperOf(helped);
    const fds = ownFds();
    // A bad header: the server stops reading at once.
    for (let i = 0; i < 4; i++) {
      for (const name of ['badhead.sh', 'badhead.py']) {
        const res = await post(helped.port, `/cgi-bin/${name}`);
        assert.equal(res.status, 502, name);
      }
    }
    // A client that stops reading an endless body, then goes away: stdout was paused (backpressure) when the script died.
    for (const name of ['flood.sh', 'flood.py', 'flood.sh', 'flood.py']) {
      await new Promise((resolve, reject) => {
        const socket = connect(helped.port, '127.0.0.1');
        let got = 0;
        socket.on('data', (d) => {
          got += d.length;
          if (got > 4096 && !socket.isPaused()) {
            socket.pause();
            setTimeout(() => socket.destroy(), 400);
          }
        });
        socket.on('close', resolve);
        socket.on('error', reject);
        socket.write(`POST /cgi-bin/${name} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n`);
      });
    }
    assert.ok(await waitFor(() => ownFds() <= fds, 8000), `descriptors ${fds} before, ${ownFds()} after`);
  });

  test('only the server process may use the helper: another process is shut out unread', async () => {
    const pid = await helperOf(helped);
    const dir = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').find((a) => a.includes('scriptserve-warm-'));
    assert.ok(dir, 'socket path not on the helper command line');
    // This process is the server's process here, so a child process plays the foreign peer.
    const marker = join(root, 'foreign-ran');
    // A complete request: the body (none) goes with it, so this one connection is all it takes.
    const req = JSON.stringify({ argv: ['/bin/sh', '-c', `touch ${marker}`], cwd: root, env: {}, stdin: 0 });
    const out = await new Promise((resolve) => {
      execFile(process.execPath, ['-e', `
        const net = require('node:net');
        const got = [];
        const s = net.connect(${JSON.stringify(dir)});
        s.write('x out\\n' + ${JSON.stringify(req)} + '\\n');
        s.on('data', (d) => got.push(String(d)));
        s.on('error', () => {});
        s.on('close', () => console.log(JSON.stringify(got)));
        setTimeout(() => { console.log('timeout ' + JSON.stringify(got)); process.exit(0); }, 3000).unref();
      `], (_err, stdout) => resolve(stdout.trim()));
    });
    assert.equal(out, '[]');
    await new Promise((r) => setTimeout(r, 300));
    assert.throws(() => readFileSync(marker), /ENOENT/);
  });
});

describe('spawn helper: off', () => {
  let root;
  /** A directory for PATH with /bin/sh in it (the scripts' interpreter) and `files`. */
  const pathDir = (name, files = {}) => {
    const bin = join(root, name);
    mkdirSync(bin, { recursive: true });
    symlinkSync('/bin/sh', join(bin, 'sh'));
    writeTree(bin, files);
    return bin;
  };
  /** A PATH directory whose python3 is a shim (a #! script, as pyenv's) that creates `marker` when it runs. */
  const shimDir = (name, marker) => pathDir(name, { python3: { content: `#!/bin/sh\n: > ${marker}\nexec ${PYTHON} "$@"\n`, mode: 0o755 } });
  before(() => {
    root = realpathSync(tempDir('scriptserve-spawn-off-'));
    writeTree(root, SCRIPTS);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('--no-spawn-helper: every script is a child of the server', async () => {
    const cli = await startCli(['-p', '0', '-d', root, '--no-spawn-helper']);
    try {
      for (let i = 0; i < 4; i++) assert.equal(await ppidOf(cli.port), cli.child.pid);
    } finally {
      await cli.stop();
    }
  });

  test('no python3 in PATH: scripts start with child_process.spawn', async () => {
    const bin = pathDir('bin');
    const cli = await startCli(['-p', '0', '-d', root], { env: { PATH: bin } });
    try {
      for (let i = 0; i < 4; i++) assert.equal(await ppidOf(cli.port), cli.child.pid);
    } finally {
      await cli.stop();
    }
  });

  test('a python3 shim first in PATH (a #! script, as pyenv puts there) is passed over for a real python3 later in PATH', async () => {
    const marker = join(root, 'shim-ran');
    const shims = shimDir('shims', marker);
    const real = join(root, 'realbin');
    mkdirSync(real);
    symlinkSync(PYTHON, join(real, 'python3'));
    const cli = await startCli(['-p', '0', '-d', root], { env: { PATH: `${shims}:${real}` } });
    try {
      const helped = await waitFor(async () => (await ppidOf(cli.port)) !== cli.child.pid, 10000, 50);
      assert.ok(helped, 'no script was started by the spawn helper');
      assert.throws(() => readFileSync(marker), /ENOENT/, 'the shim ran');
    } finally {
      await cli.stop();
    }
  });

  test('only a shim in PATH: the helper runs through it', async () => {
    const marker = join(root, 'only-shim-ran');
    const shims = shimDir('onlyshim', marker);
    const cli = await startCli(['-p', '0', '-d', root], { env: { PATH: shims } });
    try {
      const helped = await waitFor(async () => (await ppidOf(cli.port)) !== cli.child.pid, 10000, 50);
      assert.ok(helped, 'no script was started by the spawn helper');
      assert.equal(readFileSync(marker, 'utf8'), '');
    } finally {
      await cli.stop();
    }
  });

  /** The CLI's log so far. */
  const logOf = (cli) => cli.stdout() + cli.stderr();

  /**
   * Scripts start with child_process.spawn from the first request on, and the
   * helper is given up on with exactly one log line that contains `why` (and
   * says what scripts do instead), never restarted.
   */
  async function givenUpOnce(cli, why) {
    const line = await waitFor(async () => {
      assert.equal(await ppidOf(cli.port), cli.child.pid);
      return logOf(cli).split('\n').find((l) => l.includes(why));
    }, 10000, 100);
    assert.ok(line, `the helper was never given up on:\n${logOf(cli)}`);
    assert.match(line, /spawn helper: .*; scripts start with child_process\.spawn$/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await ppidOf(cli.port), cli.child.pid);
    const helperLines = logOf(cli).split('\n').filter((l) => l.includes('spawn helper:'));
    assert.deepEqual(helperLines, [line], 'one log line, no restarts');
  }

  test('a python3 that cannot run: scripts still answer, and the helper is given up on at once, in one log line', async () => {
    const bin = pathDir('badbin', { python3: { content: '#!/bin/sh\nexit 3\n', mode: 0o755 } });
    const cli = await startCli(['-p', '0', '-d', root], { env: { PATH: bin } });
    try {
      await givenUpOnce(cli, 'helper exited (exit 3) before it was ready');
    } finally {
      await cli.stop();
    }
  });

  // A helper that reports an interpreter outside TESTED_PYTHON_VERSIONS in its ready line (what a real one would say).
  for (const [name, reported, refused] of [['an untested CPython', 'cpython 3.9.18', 'CPython 3.9.18'], ['another implementation', 'pypy 3.10.14', 'pypy 3.10.14']]) {
    test(`a python3 that is ${name}: refused once, and scripts start with child_process.spawn`, async () => {
      const fake = `#!/bin/sh\necho 'ready spawn ${reported}'\nwhile read -r _; do :; done\n`;
      const bin = pathDir(`fake-${reported.replace(/\W/g, '')}`, { python3: { content: fake, mode: 0o755 } });
      const cli = await startCli(['-p', '0', '-d', root], { env: { PATH: bin } });
      try {
        await givenUpOnce(cli, `${join(bin, 'python3')}: ${refused} is not a tested interpreter (CPython `);
      } finally {
        await cli.stop();
      }
    });
  }

  test('the spawnHelper option is checked like every other', async () => {
    await assert.rejects(startServer({ root, spawnHelper: 'no' }), /spawnHelper.*boolean/);
  });
});
