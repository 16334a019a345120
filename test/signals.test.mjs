// SIGHUP (issue 13): under a service manager (no terminal) it reloads and the
// server keeps serving, the --workers primary passing it on to every worker;
// from a terminal it is a hang-up and stops the server, leaving the port free.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, PYTHON, childPids, deadline, isAlive, pidsMatching, request, rmSync, startCli, tempDir, waitFor, writeTree } from './helpers.mjs';

let root;
before(() => {
  root = tempDir('scriptserve-signals-');
  writeTree(root, { 'hello.txt': 'hello\n' });
});
after(() => rmSync(root, { recursive: true, force: true }));

const reloadLines = (cli) => cli.stderr().split('\n').filter((l) => /^scriptserve.*: SIGHUP: reloaded/.test(l));

describe('SIGHUP without a terminal (stdin and stdout are pipes, as under a service manager)', () => {
  test('reloads, logs one line, and keeps serving on the same process', async () => {
    const cli = await startCli(['-p', '0', root]);
    try {
      assert.equal((await request(cli.port, '/hello.txt')).status, 200);
      cli.child.kill('SIGHUP');
      assert.ok(await waitFor(() => reloadLines(cli).length === 1, 5000), `a reload line on stderr: ${JSON.stringify(cli.stderr())}`);
      // The config file's routes are always reloadable (webhooks), whether or not the root has one yet.
      assert.deepEqual(reloadLines(cli), ['scriptserve: SIGHUP: reloaded config file']);
      assert.equal(cli.child.exitCode, null, 'still running');
      assert.equal((await request(cli.port, '/hello.txt')).status, 200);
      // A second one is a second reload, not a stop.
      cli.child.kill('SIGHUP');
      assert.ok(await waitFor(() => reloadLines(cli).length === 2, 5000), 'a second reload line');
      assert.equal((await request(cli.port, '/hello.txt')).status, 200);
      // SIGTERM still stops it as before.
      cli.child.kill('SIGTERM');
      const { code, signal } = await deadline(cli.exited, 5000, 'exit after SIGTERM');
      assert.deepEqual({ code, signal }, { code: 0, signal: null });
    } finally {
      await cli.stop();
    }
  });

  test('--workers 3: the primary passes it on, each worker reloads and keeps serving, even one still starting', async () => {
    const cli = await startCli(['--workers', '3', '-p', '0', root]);
    try {
      // As soon as the banner shows: the first worker listens, the others may still be loading.
      cli.child.kill('SIGHUP');
      assert.ok(await waitFor(() => reloadLines(cli).length === 3, 5000), `a reload line from each worker: ${JSON.stringify(cli.stderr())}`);
      const workers = childPids(cli.child.pid);
      assert.equal(workers.length, 3);
      // The primary sends a reload again to a worker that was starting; the worker does it once.
      await new Promise((r) => setTimeout(r, 500));
      const named = reloadLines(cli).map((l) => Number(/\(worker (\d+)\)/.exec(l)?.[1])).sort();
      assert.deepEqual(named, [...workers].sort(), 'one line from each worker, by pid');
      assert.equal(cli.child.exitCode, null, 'the primary still runs');
      assert.deepEqual(childPids(cli.child.pid).sort(), [...workers].sort(), 'the same workers still run');
      for (let i = 0; i < 6; i++) assert.equal((await request(cli.port, '/hello.txt')).status, 200);
      cli.child.kill('SIGTERM');
      assert.equal((await deadline(cli.exited, 15000, 'primary exit')).code, 0);
      assert.ok(await waitFor(() => workers.every((pid) => !isAlive(pid)), 5000), 'workers still running');
    } finally {
      await cli.stop();
    }
  });
});

/**
 * The CLI under a pseudo-terminal (Python's pty.spawn: the CLI leads a new
 * session whose controlling terminal is the pty): resolves { python, pid,
 * port } once the banner shows.
 */
async function startInTerminal(args) {
  const python = spawn(PYTHON, ['-c', 'import pty, sys; pty.spawn(sys.argv[1:])', process.execPath, CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  python.stdout.setEncoding('utf8');
  python.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => python.once('exit', resolve));
  try {
    const port = await deadline(new Promise((resolve, reject) => {
      python.stdout.on('data', () => {
        const m = /^Serving .* at http:\/\/127\.0\.0\.1:(\d+)\/\r?$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      exited.then(() => reject(new Error(`exited before the banner: ${out}`)));
    }), 10000, 'banner through the pty');
    const [pid] = childPids(python.pid);
    assert.ok(pid, 'the CLI runs under pty.spawn');
    return { python, pid, port, exited, output: () => out };
  } catch (err) {
    python.kill('SIGKILL');
    throw err;
  }
}

describe('SIGHUP from a terminal', () => {
  test('SIGHUP stops the server: the process exits and the port is free', async () => {
    const t = await startInTerminal(['-p', '0', root]);
    try {
      assert.equal((await request(t.port, '/hello.txt')).status, 200);
      process.kill(t.pid, 'SIGHUP');
      assert.ok(await waitFor(() => !isAlive(t.pid), 5000), 'the CLI still runs after SIGHUP');
      await assert.rejects(request(t.port, '/hello.txt', { timeout: 3000 }), /ECONNREFUSED/);
      assert.doesNotMatch(t.output(), /reloaded/);
    } finally {
      if (isAlive(t.pid)) process.kill(t.pid, 'SIGKILL');
      t.python.kill('SIGKILL');
    }
  });

  test('a real hang-up (the terminal goes away) lets the requests in flight finish, then leaves no process holding the port', async () => {
    const site = tempDir('scriptserve-hangup-');
    writeTree(site, { 'cgi-bin/slow.sh': { content: '#!/bin/sh\nsleep "$QUERY_STRING"\nprintf "Content-Type: text/plain\\n\\nslept %s\\n" "$QUERY_STRING"\n', mode: 0o755 } });
    const t = await startInTerminal(['-p', '0', site]);
    try {
      // The first one's access line goes to the dead terminal (EIO) while the second still runs.
      const first = request(t.port, '/cgi-bin/slow.sh?0.5', { method: 'POST', body: 'x' });
      const second = request(t.port, '/cgi-bin/slow.sh?1.5', { method: 'POST', body: 'x' });
      assert.ok(await waitFor(() => pidsMatching(join(site, 'cgi-bin', 'slow.sh')).length >= 2, 5000), 'both scripts started');
      // Closing the pty's master (its holder killed) makes the kernel send SIGHUP to the session.
      t.python.kill('SIGKILL');
      for (const [res, slept] of [[await first, '0.5'], [await second, '1.5']]) {
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), `slept ${slept}\n`);
      }
      assert.ok(await waitFor(() => !isAlive(t.pid), 5000), 'the CLI still runs after the hang-up');
      await assert.rejects(request(t.port, '/', { timeout: 3000 }), /ECONNREFUSED/);
    } finally {
      if (isAlive(t.pid)) process.kill(t.pid, 'SIGKILL');
      t.python.kill('SIGKILL');
      rmSync(site, { recursive: true, force: true });
    }
  });
});
