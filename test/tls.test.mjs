// HTTPS from the command line: certificate files (plain and encrypted keys),
// bad input, expired certificates, the cached self-signed certificate, reload
// on SIGHUP without dropping connections, and real clients (openssl s_client,
// curl).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { deadline, needProgram, rmSync, runCli, startCli, tempDir, waitFor, writeTree } from './helpers.mjs';
import { h2get, h2session, makeCert, startAny } from './tls-helpers.mjs';

const run = promisify(execFile);
const opensslSkip = needProgram('/usr/bin/openssl', 'openssl');

/** The SHA-256 fingerprint of the certificate a TLS server presents. */
function presentedFingerprint(port) {
  return deadline(new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.on('error', reject);
  }), 5000, 'TLS handshake');
}

describe('--tls-cert / --tls-key', () => {
  let dir;
  let good;

  before(async () => {
    dir = tempDir();
    writeTree(dir, { 'site/a.txt': 'tls file\n', 'pw.txt': 'sesame\nignored second line\n', 'wrong.txt': 'nope\n', 'notpem.txt': 'not a certificate\n' });
    good = await makeCert(dir, 'good');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the banner says https and openssl s_client negotiates h2 by ALPN', { skip: opensslSkip }, async () => {
    const cli = await startCli(['-p', '0', '-q', '--tls-cert', good.cert, '--tls-key', good.key, join(dir, 'site')]);
    try {
      assert.match(cli.banner, /^Serving .* at https:\/\/127\.0\.0\.1:\d+\/$/);
      const { stdout } = await run('sh', ['-c', `echo | openssl s_client -connect 127.0.0.1:${cli.port} -alpn h2,http/1.1 -servername localhost 2>&1`], { timeout: 10000 });
      assert.match(stdout, /ALPN protocol: h2/);
      const http1 = await run('sh', ['-c', `printf 'GET /a.txt HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' | openssl s_client -quiet -connect 127.0.0.1:${cli.port} -alpn http/1.1 2>/dev/null`], { timeout: 10000 });
      assert.match(http1.stdout, /^HTTP\/1\.1 200 OK/);
      assert.match(http1.stdout, /tls file\n$/);
    } finally {
      await cli.stop();
    }
  });

  test('an encrypted key with --tls-password-file (first line of the file)', async () => {
    const enc = await makeCert(dir, 'enc', { passphrase: 'sesame' });
    const cli = await startCli(['-p', '0', '-q', '--tls-cert', enc.cert, '--tls-key', enc.key, '--tls-password-file', join(dir, 'pw.txt'), join(dir, 'site')]);
    try {
      const session = h2session(`https://127.0.0.1:${cli.port}`);
      const got = await h2get(session, '/a.txt');
      session.close();
      assert.equal(got.status, 200);
      assert.equal(got.body.toString(), 'tls file\n');
    } finally {
      await cli.stop();
    }
  });

  test('bad input is one line and exit 1', async () => {
    const enc = await makeCert(dir, 'enc2', { passphrase: 'sesame' });
    const other = await makeCert(dir, 'other');
    const site = join(dir, 'site');
    const cases = [
      [['--tls-cert', join(dir, 'missing.crt'), '--tls-key', good.key], /cannot read TLS certificate .*missing\.crt: no such file/],
      [['--tls-cert', good.cert, '--tls-key', join(dir, 'missing.key')], /cannot read TLS key .*missing\.key: no such file/],
      [['--tls-cert', join(dir, 'notpem.txt'), '--tls-key', good.key], /is not a PEM certificate/],
      [['--tls-cert', good.cert, '--tls-key', join(dir, 'notpem.txt')], /is not a PEM private key/],
      [['--tls-cert', good.cert, '--tls-key', other.key], /does not match the certificate/],
      [['--tls-cert', enc.cert, '--tls-key', enc.key], /is encrypted: give its password with --tls-password-file/],
      [['--tls-cert', enc.cert, '--tls-key', enc.key, '--tls-password-file', join(dir, 'wrong.txt')], /wrong password for TLS key/],
      [['--tls-cert', good.cert], /--tls-cert needs --tls-key/],
      [['--tls-cert', good.cert, '--tls-key', good.key, '--h2c'], /--h2c is cleartext HTTP\/2/],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await runCli(['-p', '0', ...args, site]);
      assert.equal(code, 1, args.join(' '));
      assert.equal(stdout, '');
      assert.match(stderr, /^scriptserve: [^\n]+\n$/, stderr);
      assert.match(stderr, message);
    }
  });

  test('an expired certificate: a warning line, and the server starts', async () => {
    const old = await makeCert(dir, 'old', { notBeforeDate: new Date(Date.now() - 40 * 86400e3), notAfterDate: new Date(Date.now() - 10 * 86400e3) });
    const cli = await startCli(['-p', '0', '-q', '--tls-cert', old.cert, '--tls-key', old.key, join(dir, 'site')]);
    try {
      assert.match(cli.banner, /at https:/);
      await waitFor(() => /warning: TLS certificate .*old\.crt expired on/.test(cli.stderr()));
      assert.equal(await presentedFingerprint(cli.port), old.fingerprint);
    } finally {
      await cli.stop();
    }
  });

  test('SIGHUP reloads the certificate without dropping connections; a bad one is refused and the old stays', async () => {
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(good.cert, live.cert);
    copyFileSync(good.key, live.key);
    const cli = await startCli(['-p', '0', '-q', '--tls-cert', live.cert, '--tls-key', live.key, join(dir, 'site')]);
    const session = h2session(`https://127.0.0.1:${cli.port}`);
    try {
      assert.equal((await h2get(session, '/a.txt')).status, 200);
      assert.equal(await presentedFingerprint(cli.port), good.fingerprint);
      const next = await makeCert(dir, 'next');
      copyFileSync(next.cert, live.cert);
      copyFileSync(next.key, live.key);
      cli.child.kill('SIGHUP');
      await waitFor(() => /SIGHUP: reloaded certificates/.test(cli.stderr()));
      assert.equal(await presentedFingerprint(cli.port), next.fingerprint);
      // The connection opened before the reload still serves.
      assert.equal((await h2get(session, '/a.txt')).status, 200);
      writeFileSync(live.key, readFileSync(good.key)); // no longer matches live.crt
      cli.child.kill('SIGHUP');
      await waitFor(() => /certificates failed \(TLS key .* does not match/.test(cli.stderr()));
      assert.equal(await presentedFingerprint(cli.port), next.fingerprint);
      assert.equal((await h2get(session, '/a.txt')).status, 200);
      assert.equal(cli.child.exitCode, null);
    } finally {
      session.close();
      await cli.stop();
    }
  });

  test('config-file keys; a key inside the served folder is never served', async () => {
    const site = join(dir, 'keyed');
    writeTree(site, { 'a.txt': 'keyed\n' });
    const inside = await makeCert(site, 'server');
    writeFileSync(join(site, 'scriptserve.json'), JSON.stringify({ tlsCert: inside.cert, tlsKey: inside.key }));
    const srv = await startAny({ root: site });
    const session = h2session(`https://127.0.0.1:${srv.port}`);
    try {
      assert.equal((await h2get(session, '/a.txt')).body.toString(), 'keyed\n');
      assert.equal((await h2get(session, '/server.key')).status, 404);
    } finally {
      session.close();
      await srv.close();
    }
  });
});

describe('--tls-self-signed', () => {
  test('generated once into the cache (0600), reused, with its fingerprint and path printed', async () => {
    const dir = tempDir();
    writeTree(dir, { 'site/a.txt': 'self\n' });
    const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
    const first = await startCli(['-p', '0', '-q', '--tls-self-signed', join(dir, 'site')], { env, timeout: 30000 });
    let certPath;
    let fingerprint;
    try {
      await waitFor(() => /SHA-256 fingerprint: /.test(first.stdout()));
      certPath = /Self-signed certificate for localhost, 127\.0\.0\.1, ::1: (\S+)\n/.exec(first.stdout())[1];
      fingerprint = /SHA-256 fingerprint: ([0-9A-F:]+)\n/.exec(first.stdout())[1];
      assert.ok(certPath.startsWith(join(dir, 'cache', 'scriptserve') + '/'), certPath);
      assert.equal(statSync(certPath).mode & 0o777, 0o600);
      assert.equal(statSync(certPath.replace(/\.crt$/, '.key')).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'cache', 'scriptserve')).mode & 0o777, 0o700);
      assert.equal(await presentedFingerprint(first.port), fingerprint);
      const session = h2session(`https://localhost:${first.port}`, { ca: readFileSync(certPath), rejectUnauthorized: true });
      const got = await h2get(session, '/a.txt');
      session.close();
      assert.equal(got.body.toString(), 'self\n', 'the certificate, trusted, verifies for localhost');
    } finally {
      await first.stop();
    }
    const second = await startCli(['-p', '0', '-q', '--tls-self-signed', join(dir, 'site')], { env });
    try {
      await waitFor(() => /SHA-256 fingerprint: /.test(second.stdout()));
      assert.match(second.stdout(), new RegExp(`SHA-256 fingerprint: ${fingerprint}\\n`));
      assert.equal(await presentedFingerprint(second.port), fingerprint);
    } finally {
      await second.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
