// The access-log line of a script request carries the script's exit code (or
// the signal that ended it) and its run time; with logFormat 'json' these are
// fields (issue 4).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, request, tempDir, writeTree, waitFor, rmSync, FIXTURES } from './helpers.mjs';

/** The access line for `path` with `status` (stderr lines and other requests are skipped). */
function accessLine(logs, path, status) {
  return logs.find((l) => l.includes(` ${path} ${status} `));
}

describe('script outcome in the access log', () => {
  let root;

  before(() => {
    root = realpathSync(tempDir('scriptserve-cgilog-test-'));
    cpSync(join(FIXTURES, 'cgi-bin'), join(root, 'cgi-bin'), { recursive: true });
    writeTree(root, { 'hello.txt': 'hello\n' });
  });

  after(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('text format: exit=N or signal=NAME, and script=…ms', async () => {
    const srv = await startServer({ root, scriptTimeout: 1 });
    try {
      assert.equal((await request(srv.port, '/cgi-bin/echo.sh')).status, 200);
      assert.equal((await request(srv.port, '/cgi-bin/fail.sh')).status, 500);
      assert.equal((await request(srv.port, '/cgi-bin/dies.sh')).status, 200);
      assert.equal((await request(srv.port, '/cgi-bin/sleep.sh', { timeout: 10000 })).status, 504);
      assert.equal((await request(srv.port, '/hello.txt')).status, 200);

      const ok = await waitFor(() => accessLine(srv.logs, '/cgi-bin/echo.sh', 200));
      assert.ok(ok, 'no access line for echo.sh');
      assert.match(ok, / exit=0 script=\d+(\.\d+)?ms/);
      const script = Number(/ script=([\d.]+)ms/.exec(ok)[1]);
      assert.ok(script > 0, 'script run time');

      const failed = await waitFor(() => accessLine(srv.logs, '/cgi-bin/fail.sh', 500));
      assert.ok(failed, 'no access line for fail.sh');
      assert.match(failed, / exit=1 script=[\d.]+ms/);

      const killed = await waitFor(() => accessLine(srv.logs, '/cgi-bin/dies.sh', 200));
      assert.ok(killed, 'no access line for dies.sh');
      assert.match(killed, / signal=SIGKILL script=[\d.]+ms/);
      assert.ok(!/ exit=/.test(killed));

      const timedOut = await waitFor(() => accessLine(srv.logs, '/cgi-bin/sleep.sh', 504));
      assert.ok(timedOut, 'no access line for sleep.sh');
      assert.match(timedOut, / signal=SIG(TERM|KILL) script=[\d.]+ms/);
      const ran = Number(/ script=([\d.]+)ms/.exec(timedOut)[1]);
      assert.ok(ran >= 900, `a 1 s timeout logged a run of ${ran} ms`);

      const file = await waitFor(() => accessLine(srv.logs, '/hello.txt', 200));
      assert.ok(file);
      assert.ok(!/ (exit|signal)=/.test(file), 'a static request logged a script outcome');
    } finally {
      await srv.close();
    }
  });

  test('json format: exit, signal and scriptMs are fields', async () => {
    const srv = await startServer({
      root,
      logFormat: 'json',
      routes: [{ method: 'GET', path: '/route', command: ['/bin/sh', '-c', 'echo routed; exit 0'] }],
    });
    try {
      await request(srv.port, '/cgi-bin/echo.sh');
      await request(srv.port, '/cgi-bin/fail.sh');
      await request(srv.port, '/cgi-bin/dies.sh');
      await request(srv.port, '/route');
      await request(srv.port, '/hello.txt');
      const records = () => srv.logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      const find = (path) => records().find((r) => r.path === path && typeof r.status === 'number');
      assert.ok(await waitFor(() => ['/cgi-bin/echo.sh', '/cgi-bin/fail.sh', '/cgi-bin/dies.sh', '/route', '/hello.txt'].every(find)), 'missing JSON access records');

      const ok = find('/cgi-bin/echo.sh');
      assert.equal(ok.status, 200);
      assert.equal(ok.exit, 0);
      assert.equal(ok.signal, null);
      assert.equal(typeof ok.scriptMs, 'number');
      assert.ok(ok.scriptMs > 0);

      const failed = find('/cgi-bin/fail.sh');
      assert.equal(failed.status, 500);
      assert.equal(failed.exit, 1);
      assert.equal(failed.signal, null);

      const killed = find('/cgi-bin/dies.sh');
      assert.equal(killed.exit, null);
      assert.equal(killed.signal, 'SIGKILL');
      assert.equal(typeof killed.scriptMs, 'number');

      const routed = find('/route');
      assert.equal(routed.status, 200);
      assert.equal(routed.exit, 0);
      assert.equal(typeof routed.scriptMs, 'number');

      const file = find('/hello.txt');
      assert.ok(!('exit' in file) && !('signal' in file) && !('scriptMs' in file), 'a static request logged a script outcome');
    } finally {
      await srv.close();
    }
  });
});
