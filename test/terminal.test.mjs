// What the command line says and does at the terminal (issue 17): every
// reachable address after the banner on 0.0.0.0/::, the line a stop prints
// (what it waits for) and the one a second signal prints, --open through a
// fake xdg-open first on PATH (and a note when there is none), and the worker
// id in JSON log records under --workers.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browserOpener, reachableUrls, stoppingLine, urlToOpen } from '../dist/terminal.js';
import { deadline, pidsMatching, request, rmSync, startCli, tempDir, waitFor, writeTree } from './helpers.mjs';

const IFACES = {
  lo: [
    { address: '127.0.0.1', family: 'IPv4', internal: true },
    { address: '::1', family: 'IPv6', internal: true, scopeid: 0 },
  ],
  eth0: [
    { address: '192.168.1.20', family: 'IPv4', internal: false },
    { address: 'fe80::1', family: 'IPv6', internal: false, scopeid: 2 },
    { address: '2001:db8::20', family: 'IPv6', internal: false, scopeid: 0 },
  ],
  wlan0: [{ address: '10.0.0.7', family: 'IPv4', internal: false }],
};

describe('terminal lines (pure)', () => {
  const cases = [
    ['0.0.0.0', ['http://127.0.0.1:8000/', 'http://192.168.1.20:8000/', 'http://10.0.0.7:8000/']],
    ['::', ['http://127.0.0.1:8000/', 'http://[::1]:8000/', 'http://192.168.1.20:8000/', 'http://[2001:db8::20]:8000/', 'http://10.0.0.7:8000/']],
    ['127.0.0.1', []],
    ['192.168.1.20', []],
    ['localhost', []],
  ];
  for (const [host, expected] of cases) {
    test(`reachable URLs for --bind ${host}`, () => assert.deepEqual(reachableUrls(host, 8000, IFACES), expected));
  }
  test('with TLS the reachable URLs are https', () => {
    assert.deepEqual(reachableUrls('0.0.0.0', 8443, IFACES, 'https'), ['https://127.0.0.1:8443/', 'https://192.168.1.20:8443/', 'https://10.0.0.7:8443/']);
    assert.equal(urlToOpen('0.0.0.0', 8443, 'https'), 'https://localhost:8443/');
  });
  test('--open opens localhost for a wildcard address, the bound address otherwise', () => {
    assert.equal(urlToOpen('0.0.0.0', 80), 'http://localhost:80/');
    assert.equal(urlToOpen('::', 80), 'http://localhost:80/');
    assert.equal(urlToOpen('127.0.0.1', 8000), 'http://127.0.0.1:8000/');
    assert.equal(urlToOpen('::1', 8000), 'http://[::1]:8000/');
  });
  test('the opener of each platform', () => {
    assert.deepEqual([browserOpener('linux').command, browserOpener('linux').args('http://x/')], ['xdg-open', ['http://x/']]);
    assert.deepEqual([browserOpener('darwin').command, browserOpener('darwin').args('http://x/')], ['open', ['http://x/']]);
    assert.equal(browserOpener('win32').command, 'cmd');
    assert.deepEqual(browserOpener('win32').args('http://x/?a&b').slice(-3), ['start', '""', 'http://x/?a^&b']);
  });
  test('the stopping line counts in words', () => {
    assert.equal(stoppingLine({ requests: 1, scripts: 0 }, 10), 'scriptserve: stopping: waiting up to 10 s for 1 request and 0 scripts; a second signal (Ctrl-C) stops now');
    assert.match(stoppingLine({ requests: 2, scripts: 1 }, 2.5), /waiting up to 2\.5 s for 2 requests and 1 script;/);
    assert.match(stoppingLine({ requests: 0, scripts: 0 }, 10, 5), /^scriptserve: stopping: draining for 5 s, then waiting up to 10 s for 0 requests and 0 scripts;/);
  });
});

describe('the command line at the terminal', () => {
  let site;
  before(() => {
    site = tempDir('scriptserve-terminal-');
    writeTree(site, {
      'hello.txt': 'hello\n',
      'cgi-bin/slow.sh': { content: '#!/bin/sh\nsleep 20\nprintf "Content-Type: text/plain\\n\\nlate\\n"\n', mode: 0o755 },
    });
  });
  after(() => rmSync(site, { recursive: true, force: true }));

  for (const bind of ['0.0.0.0', '::']) {
    test(`--bind ${bind}: the banner line as before, then every reachable address, each of which answers`, async () => {
      const cli = await startCli(['-p', '0', '-q', '-b', bind, '--no-cgi', site]);
      try {
        assert.equal(cli.banner, `Serving ${site} at http://${bind === '::' ? '[::]' : bind}:${cli.port}/`);
        assert.ok(await waitFor(() => cli.stdout().includes('Reachable at:\n'), 5000), cli.stdout());
        const lines = cli.stdout().split('\n');
        assert.equal(lines[1], 'Reachable at:');
        const urls = lines.slice(2).filter((l) => l.startsWith('  ')).map((l) => l.trim());
        assert.ok(urls.includes(`http://127.0.0.1:${cli.port}/`), urls.join(' '));
        if (bind === '::') assert.ok(urls.includes(`http://[::1]:${cli.port}/`), urls.join(' '));
        for (const url of urls) {
          assert.match(url, /^http:\/\/(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]+\]):\d+\/$/);
          // Every listed address is reachable (the Host check is off the loopback: a bound wildcard is public).
          const res = await deadline(fetch(url + 'hello.txt'), 5000, url);
          assert.equal(res.status, 200, url);
          assert.equal(await res.text(), 'hello\n');
        }
      } finally {
        await cli.stop();
      }
    });
  }

  test('the default loopback bind prints the banner line alone', async () => {
    const cli = await startCli(['-p', '0', site]);
    try {
      await request(cli.port, '/hello.txt');
      assert.ok(await waitFor(() => cli.stdout().includes('GET /hello.txt'), 5000));
      assert.doesNotMatch(cli.stdout(), /Reachable/);
      assert.equal(cli.stdout().split('\n')[1].includes('GET /hello.txt 200'), true);
    } finally {
      await cli.stop();
    }
  });

  for (const workers of [1, 2]) {
    test(`${workers === 1 ? 'one process' : '--workers 2'}: a stop says what it waits for, in one line; a second signal says it stops now`, async () => {
      const args = ['-p', '0', '-q', site, ...(workers > 1 ? ['--workers', String(workers)] : [])];
      const cli = await startCli(args);
      const script = join(site, 'cgi-bin', 'slow.sh');
      try {
        // Two scripts (under --workers, wherever the kernel sends each connection: the line sums the workers').
        const running = [1, 2].map(() => request(cli.port, '/cgi-bin/slow.sh').catch((err) => err));
        assert.ok(await waitFor(() => pidsMatching(script).length === 2, 5000), 'the scripts started');
        cli.child.kill('SIGTERM');
        assert.ok(await waitFor(() => /stopping: /.test(cli.stderr()), 5000), cli.stderr());
        cli.child.kill('SIGTERM');
        const { code } = await deadline(cli.exited, 5000, 'exit after the second signal');
        assert.equal(code, 0);
        const lines = cli.stderr().split('\n').filter((l) => l.includes('stopping'));
        assert.deepEqual(lines, [
          'scriptserve: stopping: waiting up to 10 s for 2 requests and 2 scripts; a second signal (Ctrl-C) stops now',
          'scriptserve: stopping now: running scripts are killed, open connections cut',
        ]);
        await Promise.all(running);
        assert.ok(await waitFor(() => pidsMatching(script).length === 0, 5000), 'the script was killed');
      } finally {
        await cli.stop();
      }
    });
  }

  test('--open runs xdg-open (the first on PATH) with the served URL; localhost for a wildcard bind', async () => {
    const bin = tempDir('scriptserve-fake-open-');
    writeTree(bin, { 'xdg-open': { content: `#!/bin/sh\nprintf '%s\\n' "$*" >> "${bin}/opened"\n`, mode: 0o755 } });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    try {
      for (const [bind, host] of [['127.0.0.1', '127.0.0.1'], ['0.0.0.0', 'localhost']]) {
        rmSync(join(bin, 'opened'), { force: true });
        const cli = await startCli(['-p', '0', '-q', '--no-cgi', '-b', bind, '--open', site], { env });
        try {
          assert.ok(await waitFor(() => existsSync(join(bin, 'opened')), 5000), 'xdg-open was not run');
          assert.equal(readFileSync(join(bin, 'opened'), 'utf8'), `http://${host}:${cli.port}/\n`);
          assert.equal(cli.stderr(), '');
        } finally {
          await cli.stop();
        }
      }
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  test('--open without any opener: a note, and the server serves on', async () => {
    const empty = tempDir('scriptserve-no-open-');
    try {
      const cli = await startCli(['-p', '0', '-q', '--open', site], { env: { ...process.env, PATH: empty } });
      try {
        assert.ok(await waitFor(() => cli.stderr().includes('--open'), 5000), 'no note');
        assert.equal(cli.stderr(), `scriptserve: --open: no xdg-open found to open a browser; open http://127.0.0.1:${cli.port}/ yourself\n`);
        assert.equal((await request(cli.port, '/hello.txt')).status, 200);
      } finally {
        await cli.stop();
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('--log-format json carries the worker id under --workers, and no such field in one process', async () => {
    const cli = await startCli(['-p', '0', '--log-format', 'json', '--workers', '2', site]);
    try {
      for (let i = 0; i < 6; i++) assert.equal((await request(cli.port, '/hello.txt')).status, 200);
      const records = () => cli.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      assert.ok(await waitFor(() => records().length === 6, 5000), cli.stdout());
      for (const record of records()) assert.ok(record.worker === 1 || record.worker === 2, JSON.stringify(record));
    } finally {
      await cli.stop();
    }
    const single = await startCli(['-p', '0', '--log-format', 'json', site]);
    try {
      await request(single.port, '/hello.txt');
      assert.ok(await waitFor(() => single.stdout().includes('"path":"/hello.txt"'), 5000));
      const record = JSON.parse(single.stdout().split('\n').find((l) => l.startsWith('{')));
      assert.equal('worker' in record, false);
    } finally {
      await single.stop();
    }
  });
});
