// Binding beyond loopback with scripts on and no auth prints a clear warning
// at start (issue 5). These servers only bind; no request is sent.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rmSync, startCli, tempDir, waitFor, writeTree } from './helpers.mjs';

const WARNING = /warning: scripts are enabled without --auth and the server is reachable from the network/;
let root;
before(() => {
  root = tempDir();
  writeTree(root, { 'index.html': 'hi\n' });
});
after(() => rmSync(root, { recursive: true, force: true }));

async function stderrAfterStart(args) {
  const cli = await startCli([...args, '--port', '0', '-q', root]);
  try {
    assert.match(cli.banner, /^Serving /);
    // The warning, when there is one, is written right after the banner.
    await waitFor(() => WARNING.test(cli.stderr()), 1500);
    return cli.stderr();
  } finally {
    await cli.stop();
  }
}

test('0.0.0.0 with scripts on and no auth: warned', async () => {
  assert.match(await stderrAfterStart(['--bind', '0.0.0.0']), WARNING);
});

test('0.0.0.0 with --auth, or with scripts off: no warning', async () => {
  assert.doesNotMatch(await stderrAfterStart(['--bind', '0.0.0.0', '--auth', 'u:p']), WARNING);
  assert.doesNotMatch(await stderrAfterStart(['--bind', '0.0.0.0', '--no-cgi']), WARNING);
});

test('loopback: no warning', async () => {
  assert.doesNotMatch(await stderrAfterStart(['--bind', '127.0.0.1']), WARNING);
});
