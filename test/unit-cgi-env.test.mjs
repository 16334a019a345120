// Table tests of buildCgiEnv (RFC 3875 section 4.1), with hand-made requests:
// no sockets, no processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCgiEnv, FALLBACK_PATH, inheritedVariables } from '../dist/cgi/env.js';

/** A complete CgiRequest; override fields per case. */
function request(over = {}) {
  return {
    method: 'POST',
    httpVersion: '1.1',
    rawHeaders: ['Host', 'example.test:8080', 'Content-Type', 'application/x-www-form-urlencoded', 'Content-Length', '7', 'User-Agent', 'ua/1'],
    remoteAddress: '192.0.2.7',
    remotePort: 54321,
    localAddress: '127.0.0.1',
    localPort: 8080,
    tls: false,
    requestUri: '/cgi-bin/app.py/extra/p%20q?x=1&y=%20',
    query: 'x=1&y=%20',
    contentLength: 7,
    scriptName: '/cgi-bin/app.py',
    scriptFilename: '/srv/root/cgi-bin/app.py',
    pathInfo: '/extra/p q',
    documentRoot: '/srv/root',
    ...over,
  };
}

/** buildCgiEnv's options; `serverEnv` and `passEnv` go through inheritedVariables as the server does once at start-up. */
function options(over = {}) {
  const { serverEnv = { PATH: '/usr/bin:/bin' }, passEnv = [], ...rest } = over;
  return {
    inherited: inheritedVariables({ serverEnv, passEnv }),
    passAuthorization: false,
    serverSoftware: 'scriptserve/0.1.0',
    ...rest,
  };
}

test('every RFC 3875 meta-variable and common extra, exactly', () => {
  const env = buildCgiEnv(request({ remoteUser: 'alice', authType: 'Basic', tls: true }), options());
  assert.deepEqual(env, {
    PATH: '/usr/bin:/bin',
    HTTP_HOST: 'example.test:8080',
    HTTP_USER_AGENT: 'ua/1',
    AUTH_TYPE: 'Basic',
    CONTENT_LENGTH: '7',
    CONTENT_TYPE: 'application/x-www-form-urlencoded',
    GATEWAY_INTERFACE: 'CGI/1.1',
    PATH_INFO: '/extra/p q',
    PATH_TRANSLATED: '/srv/root/extra/p q',
    QUERY_STRING: 'x=1&y=%20',
    REMOTE_ADDR: '192.0.2.7',
    REMOTE_HOST: '192.0.2.7',
    REMOTE_USER: 'alice',
    REQUEST_METHOD: 'POST',
    SCRIPT_NAME: '/cgi-bin/app.py',
    SERVER_NAME: 'example.test',
    SERVER_PORT: '8080',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_SOFTWARE: 'scriptserve/0.1.0',
    REQUEST_URI: '/cgi-bin/app.py/extra/p%20q?x=1&y=%20',
    SCRIPT_FILENAME: '/srv/root/cgi-bin/app.py',
    DOCUMENT_ROOT: '/srv/root',
    REMOTE_PORT: '54321',
    HTTPS: 'on',
    REQUEST_SCHEME: 'https',
    REDIRECT_STATUS: '200',
  });
});

test('the RFC 3875 4.1 names are all present on a plain GET', () => {
  const env = buildCgiEnv(request({ method: 'GET', rawHeaders: ['Host', 'h'], contentLength: null, pathInfo: '/p' }), options());
  for (const name of [
    'AUTH_TYPE', 'GATEWAY_INTERFACE', 'PATH_INFO', 'PATH_TRANSLATED', 'QUERY_STRING', 'REMOTE_ADDR', 'REMOTE_HOST',
    'REQUEST_METHOD', 'SCRIPT_NAME', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL', 'SERVER_SOFTWARE',
  ]) {
    assert.equal(typeof env[name], 'string', name);
  }
  assert.equal(env.AUTH_TYPE, '');
  assert.equal(env.REQUEST_METHOD, 'GET');
  assert.ok(!('REMOTE_USER' in env), 'REMOTE_USER only when authenticated');
  assert.ok(!('CONTENT_TYPE' in env), 'CONTENT_TYPE only with a Content-Type header');
});

// Each row: request overrides → expected values (undefined = must be absent).
const CASES = [
  { name: 'SERVER_NAME from Host with port', req: { rawHeaders: ['Host', 'www.example.com:8000'] }, want: { SERVER_NAME: 'www.example.com', HTTP_HOST: 'www.example.com:8000' } },
  { name: 'SERVER_NAME from Host without port', req: { rawHeaders: ['Host', 'www.example.com'] }, want: { SERVER_NAME: 'www.example.com' } },
  { name: 'SERVER_NAME from IPv6 Host with port', req: { rawHeaders: ['Host', '[::1]:8000'] }, want: { SERVER_NAME: '[::1]', HTTP_HOST: '[::1]:8000' } },
  { name: 'SERVER_NAME from IPv6 Host without port', req: { rawHeaders: ['Host', '[2001:db8::1]'] }, want: { SERVER_NAME: '[2001:db8::1]' } },
  { name: 'SERVER_NAME from IPv4 Host', req: { rawHeaders: ['Host', '127.0.0.1:9'] }, want: { SERVER_NAME: '127.0.0.1' } },
  { name: 'no Host: SERVER_NAME is the local address', req: { rawHeaders: [], localAddress: '10.1.2.3' }, want: { SERVER_NAME: '10.1.2.3', HTTP_HOST: undefined } },
  { name: 'empty Host: SERVER_NAME is the local address', req: { rawHeaders: ['Host', ''], localAddress: '10.1.2.3' }, want: { SERVER_NAME: '10.1.2.3' } },
  { name: 'no Host, mapped IPv4 local address', req: { rawHeaders: [], localAddress: '::ffff:127.0.0.1' }, want: { SERVER_NAME: '127.0.0.1' } },
  // RFC 3875 4.1.14: server-name = hostname | ipv4-address | ( "[" ipv6-address "]" ).
  { name: 'no Host, IPv6 local address is bracketed', req: { rawHeaders: [], localAddress: '::1' }, want: { SERVER_NAME: '[::1]' } },
  { name: 'SERVER_PORT is the local port', req: { localPort: 443 }, want: { SERVER_PORT: '443' } },
  { name: 'mapped IPv4 client → plain', req: { remoteAddress: '::ffff:127.0.0.1' }, want: { REMOTE_ADDR: '127.0.0.1', REMOTE_HOST: '127.0.0.1' } },
  { name: 'IPv6 client kept', req: { remoteAddress: '::1' }, want: { REMOTE_ADDR: '::1', REMOTE_HOST: '::1' } },
  { name: '::ffff: prefix without a dot kept', req: { remoteAddress: '::ffff:1' }, want: { REMOTE_ADDR: '::ffff:1' } },
  { name: 'SERVER_PROTOCOL from version 1.0', req: { httpVersion: '1.0' }, want: { SERVER_PROTOCOL: 'HTTP/1.0' } },
  { name: 'method kept verbatim', req: { method: 'PATCH' }, want: { REQUEST_METHOD: 'PATCH' } },
  { name: 'empty query', req: { query: '', requestUri: '/cgi-bin/app.py' }, want: { QUERY_STRING: '', REQUEST_URI: '/cgi-bin/app.py' } },
  { name: 'PATH_TRANSLATED only with PATH_INFO', req: { pathInfo: '' }, want: { PATH_INFO: '', PATH_TRANSLATED: undefined } },
  { name: 'PATH_TRANSLATED with PATH_INFO /', req: { pathInfo: '/' }, want: { PATH_INFO: '/', PATH_TRANSLATED: '/srv/root/' } },
  { name: 'CONTENT_LENGTH absent when null', req: { contentLength: null }, want: { CONTENT_LENGTH: undefined } },
  { name: 'CONTENT_LENGTH 0 kept as "0"', req: { contentLength: 0 }, want: { CONTENT_LENGTH: '0' } },
  { name: 'CONTENT_LENGTH large', req: { contentLength: 209715200 }, want: { CONTENT_LENGTH: '209715200' } },
  { name: 'CONTENT_LENGTH from contentLength, not the header', req: { contentLength: 3, rawHeaders: ['Content-Length', '999'] }, want: { CONTENT_LENGTH: '3', HTTP_CONTENT_LENGTH: undefined } },
  { name: 'HTTPS absent without TLS', req: { tls: false }, want: { HTTPS: undefined } },
  { name: 'HTTPS=on with TLS', req: { tls: true }, want: { HTTPS: 'on', REQUEST_SCHEME: 'https' } },
  { name: 'REQUEST_SCHEME http without TLS', req: { tls: false }, want: { REQUEST_SCHEME: 'http' } },
  {
    name: 'SERVER_NAME from the forwarded host, HTTP_HOST still the header',
    req: { rawHeaders: ['Host', '127.0.0.1:8001'], host: 'app.example:8443' },
    want: { SERVER_NAME: 'app.example', HTTP_HOST: '127.0.0.1:8001' },
  },
  { name: 'AUTH_TYPE empty by default', req: {}, want: { AUTH_TYPE: '', REMOTE_USER: undefined } },
  { name: 'REMOTE_USER when authenticated', req: { remoteUser: 'bob', authType: 'Digest' }, want: { REMOTE_USER: 'bob', AUTH_TYPE: 'Digest' } },
  { name: 'CONTENT_TYPE from the header, any case', req: { rawHeaders: ['content-TYPE', 'text/plain'] }, want: { CONTENT_TYPE: 'text/plain', HTTP_CONTENT_TYPE: undefined } },
  {
    name: 'HTTP_* dashes to underscores, upper case',
    req: { rawHeaders: ['X-Custom-Header', 'v1', 'accept-language', 'fr', 'DNT', '1', 'X-Empty', ''] },
    want: { HTTP_X_CUSTOM_HEADER: 'v1', HTTP_ACCEPT_LANGUAGE: 'fr', HTTP_DNT: '1', HTTP_X_EMPTY: '' },
  },
  {
    name: 'repeats joined with ", " in order, across name cases',
    req: { rawHeaders: ['Accept', 'text/html', 'X-A', '1', 'accept', 'text/plain', 'ACCEPT', '*/*'] },
    want: { HTTP_ACCEPT: 'text/html, text/plain, */*', HTTP_X_A: '1' },
  },
  {
    name: 'Cookie repeats joined with "; "',
    req: { rawHeaders: ['Cookie', 'a=1', 'Cookie', 'b=2', 'cookie', 'c=3'] },
    want: { HTTP_COOKIE: 'a=1; b=2; c=3' },
  },
  { name: 'Content-Length header not copied', req: { rawHeaders: ['Content-Length', '7'] }, want: { HTTP_CONTENT_LENGTH: undefined } },
  { name: 'Content-Type header not copied', req: { rawHeaders: ['Content-Type', 'a/b'] }, want: { HTTP_CONTENT_TYPE: undefined, CONTENT_TYPE: 'a/b' } },
  { name: 'Proxy header not copied (httpoxy)', req: { rawHeaders: ['Proxy', 'http://evil:1'] }, want: { HTTP_PROXY: undefined } },
  { name: 'proxy header any case not copied', req: { rawHeaders: ['PROXY', 'http://evil:1'] }, want: { HTTP_PROXY: undefined } },
  { name: 'Connection/Transfer-Encoding not copied', req: { rawHeaders: ['Connection', 'keep-alive', 'Transfer-Encoding', 'chunked'] }, want: { HTTP_CONNECTION: undefined, HTTP_TRANSFER_ENCODING: undefined } },
  { name: 'Authorization withheld by default', req: { rawHeaders: ['Authorization', 'Basic Zm9vOmJhcg=='] }, want: { HTTP_AUTHORIZATION: undefined } },
  { name: 'authorization lower case withheld by default', req: { rawHeaders: ['authorization', 'Bearer t'] }, want: { HTTP_AUTHORIZATION: undefined } },
  {
    name: 'Authorization copied with passAuthorization',
    req: { rawHeaders: ['Authorization', 'Basic Zm9vOmJhcg=='] },
    opts: { passAuthorization: true },
    want: { HTTP_AUTHORIZATION: 'Basic Zm9vOmJhcg==' },
  },
  {
    name: 'header names with _ dropped (would collide with the dash form)',
    req: { rawHeaders: ['X_Forwarded_For', 'evil', 'X-Forwarded-For', 'good', 'Remote_Addr', '1.2.3.4'] },
    want: { HTTP_X_FORWARDED_FOR: 'good', HTTP_REMOTE_ADDR: undefined },
  },
  { name: 'header named with _ only dropped', req: { rawHeaders: ['User_Agent', 'x'] }, want: { HTTP_USER_AGENT: undefined } },
  {
    name: 'headers cannot override meta-variables',
    req: { rawHeaders: ['Remote-Addr', '6.6.6.6', 'Path', '/evil', 'Script-Name', '/evil.py', 'Host', 'h'] },
    want: { REMOTE_ADDR: '192.0.2.7', PATH: '/usr/bin:/bin', SCRIPT_NAME: '/cgi-bin/app.py', HTTP_REMOTE_ADDR: '6.6.6.6', HTTP_PATH: '/evil', HTTP_SCRIPT_NAME: '/evil.py' },
  },
  {
    name: 'header named Https cannot set HTTPS',
    req: { rawHeaders: ['Https', 'on'] },
    want: { HTTPS: undefined, HTTP_HTTPS: 'on' },
  },
  // Server environment allow-list.
  {
    name: 'PATH, LANG, LC_ALL, LC_CTYPE, TZ pass',
    opts: { serverEnv: { PATH: '/p', LANG: 'C.UTF-8', LC_ALL: 'C', LC_CTYPE: 'en_US.UTF-8', TZ: 'UTC' } },
    want: { PATH: '/p', LANG: 'C.UTF-8', LC_ALL: 'C', LC_CTYPE: 'en_US.UTF-8', TZ: 'UTC' },
  },
  {
    name: 'secrets and loader/runtime knobs do not pass',
    opts: { serverEnv: { PATH: '/p', AWS_SECRET: 's3cret', HOME: '/root', NODE_OPTIONS: '--require x', LD_PRELOAD: '/x.so', PYTHONPATH: '/x', MARKER: 'm', IFS: ' ' } },
    want: { PATH: '/p', AWS_SECRET: undefined, HOME: undefined, NODE_OPTIONS: undefined, LD_PRELOAD: undefined, PYTHONPATH: undefined, MARKER: undefined, IFS: undefined },
  },
  {
    name: 'passEnv names pass',
    opts: { serverEnv: { PATH: '/p', HOME: '/home/u', AWS_SECRET: 's' }, passEnv: ['HOME', 'NOT_SET'] },
    want: { HOME: '/home/u', AWS_SECRET: undefined, NOT_SET: undefined },
  },
  {
    name: 'passEnv cannot override a meta-variable',
    opts: { serverEnv: { PATH: '/p', REMOTE_ADDR: '6.6.6.6', GATEWAY_INTERFACE: 'x' }, passEnv: ['REMOTE_ADDR', 'GATEWAY_INTERFACE'] },
    want: { REMOTE_ADDR: '192.0.2.7', GATEWAY_INTERFACE: 'CGI/1.1' },
  },
  { name: 'missing PATH → fallback', opts: { serverEnv: {} }, want: { PATH: FALLBACK_PATH } },
  { name: 'empty PATH → fallback', opts: { serverEnv: { PATH: '' } }, want: { PATH: FALLBACK_PATH } },
  { name: 'undefined PATH → fallback', opts: { serverEnv: { PATH: undefined, LANG: undefined } }, want: { PATH: FALLBACK_PATH, LANG: undefined } },
  { name: 'SERVER_SOFTWARE from options', opts: { serverSoftware: 'x/9' }, want: { SERVER_SOFTWARE: 'x/9' } },
];

for (const c of CASES) {
  test(`buildCgiEnv: ${c.name}`, () => {
    const env = buildCgiEnv(request(c.req), options(c.opts));
    for (const [key, value] of Object.entries(c.want)) {
      if (value === undefined) assert.ok(!(key in env), `${key} must be absent, got ${JSON.stringify(env[key])}`);
      else assert.equal(env[key], value, key);
    }
  });
}

test('FALLBACK_PATH holds the usual binary directories', () => {
  assert.deepEqual(FALLBACK_PATH.split(':'), ['/usr/local/bin', '/usr/bin', '/bin']);
});

test('nothing outside the allow-list, the headers and the meta-variables is ever set', () => {
  const serverEnv = { PATH: '/p', LANG: 'C', SECRET_TOKEN: 'x', HOME: '/root', USER: 'root', SHELL: '/bin/sh' };
  const env = buildCgiEnv(request(), options({ serverEnv }));
  const meta = new Set([
    'PATH', 'LANG', 'AUTH_TYPE', 'CONTENT_LENGTH', 'CONTENT_TYPE', 'GATEWAY_INTERFACE', 'PATH_INFO', 'PATH_TRANSLATED',
    'QUERY_STRING', 'REMOTE_ADDR', 'REMOTE_HOST', 'REQUEST_METHOD', 'SCRIPT_NAME', 'SERVER_NAME', 'SERVER_PORT',
    'SERVER_PROTOCOL', 'SERVER_SOFTWARE', 'REQUEST_URI', 'SCRIPT_FILENAME', 'DOCUMENT_ROOT', 'REMOTE_PORT', 'REDIRECT_STATUS',
    'REQUEST_SCHEME',
  ]);
  for (const key of Object.keys(env)) assert.ok(meta.has(key) || /^HTTP_[A-Z0-9_]+$/.test(key), `unexpected ${key}`);
  for (const leaked of ['SECRET_TOKEN', 'HOME', 'USER', 'SHELL']) assert.ok(!(leaked in env), leaked);
  for (const value of Object.values(env)) assert.equal(typeof value, 'string');
});

test('buildCgiEnv does not read process.env', () => {
  const key = 'SCRIPTSERVE_UNIT_MARKER';
  process.env[key] = 'leak';
  try {
    const env = buildCgiEnv(request(), options({ serverEnv: {} }));
    assert.ok(!Object.values(env).includes('leak'));
    assert.ok(!(key in env));
  } finally {
    delete process.env[key];
  }
});
