// Table tests of the forwarding parsers (src/forwarded.ts): the --trust-proxy
// list, RFC 7239 nodes and Forwarded elements, Host values, and the walk that
// picks the client out of a chain (right-most untrusted hop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isTrustedAddress,
  parseForwarded,
  parseHost,
  parseNode,
  parsePortValue,
  parseProto,
  parseTrustedProxies,
  resolveForwarding,
  TrustListError,
} from '../dist/forwarded.js';

// --- the trust list ---

const TRUST = [
  // [entries, address, trusted?]
  [['loopback'], '127.0.0.1', true],
  [['loopback'], '127.8.9.10', true],
  [['loopback'], '::1', true],
  [['loopback'], '::ffff:127.0.0.1', true],
  [['loopback'], '10.0.0.1', false],
  [['10.0.0.0/8'], '10.255.1.2', true],
  [['10.0.0.0/8'], '11.0.0.1', false],
  [['10.0.0.0/8'], '::ffff:10.1.1.1', true],
  [['192.0.2.7'], '192.0.2.7', true],
  [['192.0.2.7'], '192.0.2.8', false],
  [['fd00::/8'], 'fd12::1', true],
  [['fd00::/8'], 'fe80::1', false],
  [['[2001:db8::1]'], '2001:db8::1', true],
  [['10.0.0.0/8', '172.16.0.0/12'], '172.20.0.1', true],
  [['0.0.0.0/0'], '203.0.113.1', true],
  [['unix'], '127.0.0.1', false],
  [['loopback'], 'unknown', false],
  [['loopback'], '', false],
];

for (const [entries, address, trusted] of TRUST) {
  test(`trust ${entries.join(',')}: ${address || '(empty)'} is ${trusted ? '' : 'not '}trusted`, () => {
    assert.equal(isTrustedAddress(parseTrustedProxies(entries), address), trusted);
  });
}

test('trust list: unix and loopback are names; case does not matter', () => {
  assert.equal(parseTrustedProxies(['UNIX']).unix, true);
  assert.equal(parseTrustedProxies(['loopback']).unix, false);
  assert.equal(isTrustedAddress(parseTrustedProxies(['LoopBack']), '127.0.0.1'), true);
});

for (const bad of ['localhost', 'example.com', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/', '10.0.0.0/x', '1.2.3', '*', '10.0.0.1/8/8']) {
  test(`trust list refuses ${JSON.stringify(bad)}`, () => {
    assert.throws(() => parseTrustedProxies([bad]), TrustListError);
  });
}

// --- nodes (RFC 7239 6) ---

const NODES = [
  ['192.0.2.43', { kind: 'ip', address: '192.0.2.43', port: null }],
  ['192.0.2.43:47011', { kind: 'ip', address: '192.0.2.43', port: 47011 }],
  ['[2001:db8:cafe::17]', { kind: 'ip', address: '2001:db8:cafe::17', port: null }],
  ['[2001:db8:cafe::17]:4711', { kind: 'ip', address: '2001:db8:cafe::17', port: 4711 }],
  [' 198.51.100.17 ', { kind: 'ip', address: '198.51.100.17', port: null }],
  ['unknown', { kind: 'unknown' }],
  ['UNKNOWN', { kind: 'unknown' }],
  ['_hidden', { kind: 'obfuscated', name: '_hidden' }],
  ['_SEVKISEK', { kind: 'obfuscated', name: '_SEVKISEK' }],
  ['192.0.2.43:_port', { kind: 'ip', address: '192.0.2.43', port: null }],
  ['2001:db8::1', null], // bare IPv6 is not RFC 7239 (it must be bracketed and quoted)
  ['[192.0.2.1]', null],
  ['256.1.1.1', null],
  ['1.2.3', null],
  ['192.0.2.43:0', null],
  ['192.0.2.43:65536', null],
  ['192.0.2.43:', null],
  ['example.com', null],
  ['', null],
  ['[::1', null],
  ['hidden', null],
];

for (const [value, want] of NODES) {
  test(`node ${JSON.stringify(value)}`, () => {
    assert.deepEqual(parseNode(value), want);
  });
}

test('X-Forwarded-For accepts bare IPv6', () => {
  assert.deepEqual(parseNode('2001:db8::1', true), { kind: 'ip', address: '2001:db8::1', port: null });
  assert.equal(parseNode('2001:db8::zz', true), null);
});

// --- Forwarded field values (RFC 7239 4) ---

const m = (o) => new Map(Object.entries(o));
const FORWARDED = [
  ['for="_gazonk"', [m({ for: '_gazonk' })]],
  ['For="[2001:db8:cafe::17]:4711"', [m({ for: '[2001:db8:cafe::17]:4711' })]],
  ['for=192.0.2.60;proto=http;by=203.0.113.43', [m({ for: '192.0.2.60', proto: 'http', by: '203.0.113.43' })]],
  ['for=192.0.2.43, for=198.51.100.17', [m({ for: '192.0.2.43' }), m({ for: '198.51.100.17' })]],
  ['for=192.0.2.43,for=198.51.100.17', [m({ for: '192.0.2.43' }), m({ for: '198.51.100.17' })]],
  ['for=1.2.3.4 ; proto=https', [m({ for: '1.2.3.4', proto: 'https' })]],
  ['for="1.2.3.4";host="example.com:8443"', [m({ for: '1.2.3.4', host: 'example.com:8443' })]],
  ['host="a\\"b"', [m({ host: 'a"b' })]],
  ['for="a,b";proto=https', [m({ for: 'a,b', proto: 'https' })]],
  [';for=1.2.3.4;', [m({ for: '1.2.3.4' })]],
  ['', [m({})]],
  ['for=1.2.3.4;for=5.6.7.8', null], // a parameter twice in one element
  ['for=[::1]', null], // [ is not a token character: IPv6 must be quoted
  ['for="1.2.3.4', null], // unterminated quote
  ['for', null],
  ['for=', null],
  ['=1.2.3.4', null],
  ['for=1.2.3.4 proto=http', null],
  ['for=1.2.3.4;host=example.com:80', null], // ':' needs quoting
  ['for="a\u0001b"', null],
];

for (const [value, want] of FORWARDED) {
  test(`Forwarded ${JSON.stringify(value)}`, () => {
    assert.deepEqual(parseForwarded(value), want);
  });
}

// --- scheme, Host, port ---

test('proto: http and https only, any case', () => {
  assert.equal(parseProto('https'), 'https');
  assert.equal(parseProto('HTTP'), 'http');
  assert.equal(parseProto(' https '), 'https');
  for (const bad of ['ftp', 'wss', 'https ,http', '', 'javascript']) assert.equal(parseProto(bad), null, bad);
});

const HOSTS = [
  ['example.com', { host: 'example.com', name: 'example.com', port: null }],
  ['Example.COM:8443', { host: 'example.com:8443', name: 'example.com', port: 8443 }],
  ['192.0.2.1:80', { host: '192.0.2.1:80', name: '192.0.2.1', port: 80 }],
  ['[2001:db8::1]:443', { host: '[2001:db8::1]:443', name: '[2001:db8::1]', port: 443 }],
  ['[2001:db8::1]', { host: '[2001:db8::1]', name: '[2001:db8::1]', port: null }],
  ['a b', null],
  ['evil.com/path', null],
  ['x:0', null],
  ['x:99999', null],
  ['[zz::1]', null],
  ['', null],
  ['<script>', null],
  ['user@host', null],
];
for (const [value, want] of HOSTS) {
  test(`Host value ${JSON.stringify(value)}`, () => {
    assert.deepEqual(parseHost(value), want);
  });
}

test('port values', () => {
  assert.equal(parsePortValue('443'), 443);
  assert.equal(parsePortValue(' 8080 '), 8080);
  for (const bad of ['0', '65536', 'x', '', '-1', '1.5']) assert.equal(parsePortValue(bad), null, bad);
});

// --- the walk: which hop is the client ---

const LOOPBACK_AND_10 = parseTrustedProxies(['loopback', '10.0.0.0/8']);
const none = { forwarded: [], xForwardedFor: [], xForwardedProto: [], xForwardedHost: [], xForwardedPort: [] };
const WALK = [
  {
    name: 'XFF: one client',
    h: { xForwardedFor: ['203.0.113.5'] },
    want: { address: '203.0.113.5', port: 0 },
  },
  {
    name: 'XFF: right-most untrusted, spoofed left part ignored',
    h: { xForwardedFor: ['6.6.6.6, 203.0.113.5, 10.0.0.2'] },
    want: { address: '203.0.113.5', port: 0 },
  },
  {
    name: 'XFF: several field lines are one list',
    h: { xForwardedFor: ['6.6.6.6', '203.0.113.5, 10.0.0.2'] },
    want: { address: '203.0.113.5', port: 0 },
  },
  {
    name: 'XFF: all trusted: the left-most',
    h: { xForwardedFor: ['10.1.1.1, 127.0.0.1'] },
    want: { address: '10.1.1.1', port: 0 },
  },
  {
    name: 'XFF: garbage left of the client is never read',
    h: { xForwardedFor: ['not-an-ip, 203.0.113.5'] },
    want: { address: '203.0.113.5', port: 0 },
    problems: 0,
  },
  {
    name: 'XFF: garbage where a trusted proxy should have written: the last hop known',
    h: { xForwardedFor: ['203.0.113.5, garbage, 10.0.0.2'] },
    want: { address: '10.0.0.2', port: 0 },
    problems: 1,
  },
  {
    name: 'XFF: right-most malformed: nothing changes',
    h: { xForwardedFor: ['203.0.113.5, x'] },
    want: {},
    problems: 1,
  },
  {
    name: 'XFF: IPv6 and IPv4-mapped',
    h: { xForwardedFor: ['2001:db8::5, ::ffff:10.0.0.3'] },
    want: { address: '2001:db8::5', port: 0 },
  },
  {
    name: 'XFF: unknown hop: the last address known',
    h: { xForwardedFor: ['unknown, 10.0.0.2'] },
    want: { address: '10.0.0.2', port: 0 },
  },
  {
    name: 'X-Forwarded-Proto/Host/Port of the nearest proxy',
    h: { xForwardedFor: ['203.0.113.5'], xForwardedProto: ['https'], xForwardedHost: ['app.example'], xForwardedPort: ['8443'] },
    want: { address: '203.0.113.5', port: 0, scheme: 'https', host: 'app.example:8443', serverPort: 8443 },
  },
  {
    name: 'X-Forwarded-Port that is the default is not added to the host',
    h: { xForwardedProto: ['https'], xForwardedHost: ['app.example'], xForwardedPort: ['443'] },
    want: { scheme: 'https', host: 'app.example', serverPort: 443 },
  },
  {
    name: 'one proto per hop: the client hop\'s',
    h: { xForwardedFor: ['203.0.113.5, 10.0.0.2'], xForwardedProto: ['https, http'] },
    want: { address: '203.0.113.5', port: 0, scheme: 'https' },
  },
  {
    name: 'X-Forwarded-Host with its port',
    h: { xForwardedHost: ['app.example:8080'] },
    want: { host: 'app.example:8080', serverPort: 8080 },
  },
  {
    name: 'malformed X-Forwarded-Proto, -Host, -Port: each ignored alone',
    h: { xForwardedFor: ['203.0.113.5'], xForwardedProto: ['gopher'], xForwardedHost: ['a b'], xForwardedPort: ['http'] },
    want: { address: '203.0.113.5', port: 0 },
    problems: 3,
  },
  {
    name: 'Forwarded: the client element with its proto and host',
    h: { forwarded: ['for=203.0.113.5;proto=https;host=app.example, for=10.0.0.2;proto=http;host=internal'] },
    want: { address: '203.0.113.5', port: 0, scheme: 'https', host: 'app.example' },
  },
  {
    name: 'Forwarded wins over X-Forwarded-For',
    h: { forwarded: ['for=203.0.113.5'], xForwardedFor: ['6.6.6.6'] },
    want: { address: '203.0.113.5', port: 0 },
  },
  {
    name: 'Forwarded: quoted IPv6 with port',
    h: { forwarded: ['for="[2001:db8::17]:4711";proto=https;host="app.example:8443"'] },
    want: { address: '2001:db8::17', port: 4711, scheme: 'https', host: 'app.example:8443', serverPort: 8443 },
  },
  {
    name: 'Forwarded: a spoofed field line left of the proxy\'s is never read',
    h: { forwarded: ['for="broken', 'for=203.0.113.5'] },
    want: { address: '203.0.113.5', port: 0 },
    problems: 0,
  },
  {
    name: 'Forwarded: malformed line reached: ignored, the last hop known',
    h: { forwarded: ['for=1.2.3.4;for=5.6.7.8', 'for=10.0.0.2'] },
    want: { address: '10.0.0.2', port: 0 },
    problems: 1,
  },
  {
    name: 'Forwarded: obfuscated client: address unchanged, proto used',
    h: { forwarded: ['for=_abc;proto=https'] },
    want: { scheme: 'https' },
  },
  {
    name: 'Forwarded: no for=, only proto and host',
    h: { forwarded: ['proto=https;host=app.example'] },
    want: { scheme: 'https', host: 'app.example' },
  },
  {
    name: 'Forwarded: bad for= value reported',
    h: { forwarded: ['for=example.com'] },
    want: {},
    problems: 1,
  },
  {
    name: 'Forwarded: bad proto and host reported, for= kept',
    h: { forwarded: ['for=203.0.113.5;proto=ftp;host="a b"'] },
    want: { address: '203.0.113.5', port: 0 },
    problems: 2,
  },
];

for (const { name, h, want, problems } of WALK) {
  test(`walk: ${name}`, () => {
    const seen = [];
    const got = resolveForwarding({ ...none, ...h }, LOOPBACK_AND_10, (p) => seen.push(p));
    assert.deepEqual({ ...got }, want);
    if (problems !== undefined) assert.equal(seen.length, problems, seen.join('; '));
  });
}
