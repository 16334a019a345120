// --workers N: N processes share the port (node:cluster). Every kind of
// answer is right from each worker, the banner is printed once, and one
// signal stops them all.
import assert from 'node:assert/strict';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { childPids, deadline, isAlive, parentOf, pidsMatching, request, rmSync, runCli, startCli, tempDir, waitFor, writeTree } from './helpers.mjs';

describe('--workers 2', () => {
  let root;
  let cli;
  before(async () => {
    root = tempDir();
    writeTree(root, {
      'hello.txt': 'hello\n',
      'dir/a.txt': 'a\n',
      'cgi-bin/ppid.sh': { content: '#!/bin/sh\nread -r body\nprintf "Content-Type: text/plain\\n\\n%s %s\\n" "$PPID" "$body"\n', mode: 0o755 },
    });
    cli = await startCli(['--workers', '2', '--port', '0', root]);
  });
  after(async () => {
    await cli?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('the banner is printed once, with the shared port', async () => {
    assert.match(cli.banner, /^Serving .* at http:\/\/127\.0\.0\.1:\d+\/$/);
    await request(cli.port, '/hello.txt');
    assert.equal(cli.stdout().split('\n').filter((l) => l.startsWith('Serving ')).length, 1);
  });

  test('static files, listings, 404s, 304s and scripts answer right, from both workers', async () => {
    const parents = new Set();
    for (let i = 0; i < 24; i++) {
      const file = await request(cli.port, '/hello.txt');
      assert.equal(file.body.toString(), 'hello\n');
      const again = await request(cli.port, '/hello.txt', { headers: { 'If-None-Match': file.headers.etag } });
      assert.equal(again.status, 304);
      assert.match((await request(cli.port, '/dir/')).body.toString(), /a\.txt/);
      assert.equal((await request(cli.port, '/missing')).status, 404);
      const script = await request(cli.port, '/cgi-bin/ppid.sh', { method: 'POST', body: `n${i}\n` });
      assert.equal(script.status, 200);
      const [ppid, echoed] = script.body.toString().trim().split(' ');
      assert.equal(echoed, `n${i}`);
      parents.add(Number(ppid));
    }
    // Scripts are started by the worker that answered, through its own spawn helper
    // (a child of the worker) or by the worker itself: two workers, two owners.
    const workers = await childPids(cli.child.pid);
    assert.equal(workers.length, 2);
    const owners = new Set([...parents].map((ppid) => (workers.includes(ppid) ? ppid : parentOf(ppid))));
    assert.deepEqual([...owners].sort(), workers.sort());
  });

  test('SIGTERM stops the primary and every worker, exit code 0', async () => {
    const workers = await childPids(cli.child.pid);
    assert.equal(workers.length, 2);
    cli.child.kill('SIGTERM');
    const { code } = await deadline(cli.exited, 15000, 'primary exit');
    assert.equal(code, 0);
    const gone = await waitFor(() => workers.every((pid) => !isAlive(pid)), 5000);
    assert.ok(gone, 'workers still running');
  });
});

test('Ctrl-C in a terminal (SIGINT to the whole process group) lets a running script finish, then everything exits 0', async () => {
  const root = tempDir();
  writeTree(root, {
    'cgi-bin/slow.sh': { content: '#!/bin/sh\nsleep 1\nprintf "Content-Type: text/plain\\n\\nfinished\\n"\n', mode: 0o755 },
  });
  const cli = await startCli(['--workers', '2', '--port', '0', root], { detached: true });
  try {
    const workers = await childPids(cli.child.pid);
    assert.equal(workers.length, 2);
    const pending = request(cli.port, '/cgi-bin/slow.sh', { method: 'POST', body: 'x' });
    // The script is running once a worker has a child.
    // The script's own process (its path names the root), not any child: with warm Python on, each worker also has a fork server.
    assert.ok(await waitFor(() => pidsMatching(join(root, 'cgi-bin', 'slow.sh')).length > 0, 5000), 'the script never started');
    // What the terminal does: one SIGINT to every process of the foreground group, primary and workers alike.
    process.kill(-cli.child.pid, 'SIGINT');
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'finished\n');
    const { code } = await deadline(cli.exited, 15000, 'primary exit');
    assert.equal(code, 0);
    assert.ok(await waitFor(() => workers.every((pid) => !isAlive(pid)), 5000), 'workers still running');
  } finally {
    await cli.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('a second Ctrl-C stops everything at once: the running script is killed, exit 0', async () => {
  const root = tempDir();
  writeTree(root, { 'cgi-bin/slow.sh': { content: '#!/bin/sh\nsleep 30\necho\n', mode: 0o755 } });
  const cli = await startCli(['--workers', '2', '--port', '0', '--shutdown-grace', '60', root], { detached: true });
  try {
    const workers = await childPids(cli.child.pid);
    const pending = request(cli.port, '/cgi-bin/slow.sh', { method: 'POST', body: 'x' }).catch((err) => err);
    let scripts = [];
    assert.ok(await waitFor(() => (scripts = pidsMatching(join(root, 'cgi-bin', 'slow.sh'))).length > 0, 5000), 'the script never started');
    process.kill(-cli.child.pid, 'SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(cli.child.exitCode, null, 'one Ctrl-C waits for the script');
    process.kill(-cli.child.pid, 'SIGINT');
    const { code } = await deadline(cli.exited, 5000, 'primary exit after the second Ctrl-C');
    assert.equal(code, 0);
    await pending;
    const running = () => [...workers, ...scripts].filter(isAlive);
    assert.ok(await waitFor(() => running().length === 0, 5000), `still running: ${running()}`);
  } finally {
    await cli.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('SIGTERM to the primary alone as soon as the banner shows (workers still starting): every worker stops, exit 0', async () => {
  // The banner comes when the first worker listens; the others may not have
  // their stop handler yet. What a supervisor does (docker stop, systemd
  // KillMode=mixed): signal the primary only.
  const root = tempDir();
  writeTree(root, { 'hello.txt': 'hello\n' });
  const cli = await startCli(['--workers', '4', '--port', '0', root]);
  try {
    cli.child.kill('SIGTERM');
    const { code } = await deadline(cli.exited, 15000, 'primary exit after SIGTERM during start-up');
    assert.equal(code, 0);
    assert.ok(await waitFor(() => pidsMatching(root).length === 0, 5000), `still running: ${pidsMatching(root)}`);
  } finally {
    await cli.stop();
    rmSync(root, { recursive: true, force: true });
  }
});

test('--workers with a port in use: one line, exit 1, no worker left', async () => {
  const blocker = createNetServer();
  await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
  try {
    const { code, stderr } = await runCli(['--workers', '2', '--port', String(blocker.address().port), '-d', '.']);
    assert.equal(code, 1);
    assert.match(stderr, /already in use/);
    assert.doesNotMatch(stderr, /\n\s+at /);
  } finally {
    blocker.close();
  }
});

test('--workers rejects nonsense', async () => {
  for (const value of ['0', 'many', '-1']) {
    const { code, stderr } = await runCli(['--workers', value, '-p', '0']);
    assert.equal(code, 1, value);
    assert.equal(stderr.trim().split('\n').length, 1, value);
  }
});
