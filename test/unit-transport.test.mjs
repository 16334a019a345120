// Table tests of the pure parts of the transport: NPH heads relayed over
// HTTP/2 (src/cgi/nph.ts), the TLS options (src/transport/tls.ts), and the
// names of the self-signed certificate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNphHead } from '../dist/cgi/nph.js';
import { CgiOutputError } from '../dist/cgi/parse.js';
import { ConfigError } from '../dist/option-spec.js';
import { cacheDirectory, selfSignedNames, tlsSourceOf } from '../dist/transport/tls.js';

const NPH_ACCEPTED = [
  { name: 'CRLF head', out: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi', status: 200, headers: [['Content-Type', 'text/plain'], ['Content-Length', '2']], length: 2, rest: 'hi' },
  { name: 'LF head, HTTP/1.0, no reason', out: 'HTTP/1.0 404\nX-A: b\n\n', status: 404, headers: [['X-A', 'b']], length: null, rest: '' },
  {
    name: 'connection-specific fields dropped',
    out: 'HTTP/1.1 200 OK\r\nConnection: close\r\nKeep-Alive: 5\r\nUpgrade: h2c\r\nTransfer-Encoding: identity\r\nX-Kept: 1\r\n\r\n',
    status: 200, headers: [['X-Kept', '1']], length: null, rest: '',
  },
];

for (const row of NPH_ACCEPTED) {
  test(`NPH head: ${row.name}`, () => {
    const got = parseNphHead(Buffer.from(row.out, 'latin1'));
    assert.equal(got.head.status, row.status);
    assert.deepEqual(got.head.headers, row.headers);
    assert.equal(got.head.contentLength, row.length);
    assert.equal(got.rest.toString('latin1'), row.rest);
  });
}

test('NPH head: null until the block is complete', () => {
  assert.equal(parseNphHead(Buffer.from('HTTP/1.1 200 OK\r\nX-A: b\r\n')), null);
});

const NPH_REFUSED = [
  ['no status line', 'Content-Type: text/plain\r\n\r\n'],
  ['status out of range', 'HTTP/1.1 100 Continue\r\n\r\n'],
  ['chunked body', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'],
  ['bad header name', 'HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n'],
  ['control character', 'HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n'],
  ['bad Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
  ['two Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n'],
];

for (const [name, out] of NPH_REFUSED) {
  test(`NPH head refused: ${name}`, () => {
    assert.throws(() => parseNphHead(Buffer.from(out, 'latin1')), CgiOutputError);
  });
}

test('NPH head refused: larger than the cap without an end', () => {
  assert.throws(() => parseNphHead(Buffer.alloc(100, 'a'), 50), CgiOutputError);
});

test('self-signed names: loopback names plus the bound one, never a wildcard', () => {
  assert.deepEqual(selfSignedNames(undefined), ['localhost', '127.0.0.1', '::1']);
  assert.deepEqual(selfSignedNames('127.0.0.1'), ['localhost', '127.0.0.1', '::1']);
  assert.deepEqual(selfSignedNames('0.0.0.0'), ['localhost', '127.0.0.1', '::1']);
  assert.deepEqual(selfSignedNames('::'), ['localhost', '127.0.0.1', '::1']);
  assert.deepEqual(selfSignedNames('192.168.1.5'), ['localhost', '127.0.0.1', '::1', '192.168.1.5']);
  assert.deepEqual(selfSignedNames('dev.example'), ['localhost', '127.0.0.1', '::1', 'dev.example']);
});

test('TLS options: plain, files, self-signed, and the one-line refusals', () => {
  assert.equal(tlsSourceOf({}, undefined), null);
  assert.deepEqual(tlsSourceOf({ tlsCert: '/c', tlsKey: '/k' }, undefined), { kind: 'files', cert: '/c', key: '/k', passwordFile: null });
  assert.deepEqual(tlsSourceOf({ tlsSelfSigned: true }, 'h.example'), { kind: 'self-signed', names: ['localhost', '127.0.0.1', '::1', 'h.example'] });
  for (const bad of [{ tlsCert: '/c' }, { tlsKey: '/k' }, { tlsPasswordFile: '/p' }, { tlsSelfSigned: true, tlsCert: '/c', tlsKey: '/k' }]) {
    assert.throws(() => tlsSourceOf(bad, undefined), ConfigError, JSON.stringify(bad));
  }
});

test('cache directory: XDG_CACHE_HOME when absolute, else ~/.cache', () => {
  assert.equal(cacheDirectory({ XDG_CACHE_HOME: '/x/cache' }), '/x/cache/scriptserve');
  assert.match(cacheDirectory({ XDG_CACHE_HOME: 'relative' }), /\/\.cache\/scriptserve$/);
  assert.match(cacheDirectory({}), /\/\.cache\/scriptserve$/);
});

test('self-signed cache: reused while valid, renewed once fewer than 30 days remain', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { loadTls } = await import('../dist/transport/tls.js');
  const dir = mkdtempSync(join(tmpdir(), 'scriptserve-cache-'));
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = dir;
  try {
    const source = { kind: 'self-signed', names: ['localhost', '127.0.0.1', '::1'] };
    const first = loadTls(source);
    assert.ok(first.certPath.startsWith(join(dir, 'scriptserve') + '/'));
    assert.equal(loadTls(source).fingerprint, first.fingerprint);
    assert.equal(loadTls(source, new Date(Date.now() + 300 * 86400e3)).fingerprint, first.fingerprint, '65 days left: kept');
    const renewed = loadTls(source, new Date(Date.now() + 340 * 86400e3));
    assert.notEqual(renewed.fingerprint, first.fingerprint, '25 days left: renewed');
    assert.equal(renewed.certPath, first.certPath);
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
