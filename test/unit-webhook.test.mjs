// Table tests of the webhook route's pure parts: signature checks against the
// providers' published examples (src/webhook/verify.ts), JSON Pointer, rules
// and value sources (src/webhook/rules.ts), and the config checks of
// src/webhook/hook.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createVerifier } from '../dist/webhook/verify.js';
import { compileRule, compileSource, parsePointer, resolvePointer, RuleError } from '../dist/webhook/rules.js';
import { resolveHook } from '../dist/webhook/hook.js';
import { ConfigError } from '../dist/config.js';

/** Run a check over a body given in pieces; the verdict (null = good) or the early refusal. */
function verify(spec, secret, headers, body, now = Date.now() / 1000) {
  const check = createVerifier(spec, Buffer.from(secret))(headers, now);
  if (typeof check === 'string') return check;
  const bytes = Buffer.from(body);
  // Split the body so the check is proved to hash chunks, not one buffer.
  check.update(bytes.subarray(0, 3));
  check.update(bytes.subarray(3));
  return check.verdict();
}

// GitHub's documented example (docs.github.com, "Validating webhook deliveries").
const GITHUB_SECRET = "It's a Secret to Everybody";
const GITHUB_BODY = 'Hello, World!';
const GITHUB_SIGNATURE = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
const GITHUB = { type: 'hmac-sha256', header: 'X-Hub-Signature-256', prefix: 'sha256=' };

test('GitHub: the published example verifies', () => {
  assert.equal(verify(GITHUB, GITHUB_SECRET, { 'x-hub-signature-256': GITHUB_SIGNATURE }, GITHUB_BODY), null);
});

for (const [what, headers, body, secret, reason] of [
  ['a different body', { 'x-hub-signature-256': GITHUB_SIGNATURE }, 'Hello, World?', GITHUB_SECRET, /does not match/],
  ['another secret', { 'x-hub-signature-256': GITHUB_SIGNATURE }, GITHUB_BODY, 'secret', /does not match/],
  ['no header', {}, GITHUB_BODY, GITHUB_SECRET, /no X-Hub-Signature-256/],
  ['no prefix', { 'x-hub-signature-256': GITHUB_SIGNATURE.slice(7) }, GITHUB_BODY, GITHUB_SECRET, /does not start with/],
  ['not hex', { 'x-hub-signature-256': 'sha256=zz' }, GITHUB_BODY, GITHUB_SECRET, /not a hex digest/],
  ['a truncated digest', { 'x-hub-signature-256': GITHUB_SIGNATURE.slice(0, -2) }, GITHUB_BODY, GITHUB_SECRET, /does not match/],
  ['two signatures joined', { 'x-hub-signature-256': `${GITHUB_SIGNATURE}, ${GITHUB_SIGNATURE}` }, GITHUB_BODY, GITHUB_SECRET, /not a hex digest/],
]) {
  test(`GitHub: refused with ${what}`, () => {
    assert.match(verify(GITHUB, secret, headers, body), reason);
  });
}

test('hmac-sha1 and hmac-sha512 use their own algorithms', () => {
  for (const [type, algorithm] of [['hmac-sha1', 'sha1'], ['hmac-sha512', 'sha512']]) {
    const sig = createHmac(algorithm, 's3').update('payload').digest('hex');
    const spec = { type, header: 'X-Sig' };
    assert.equal(verify(spec, 's3', { 'x-sig': sig }, 'payload'), null, type);
    assert.match(verify(spec, 's3', { 'x-sig': createHmac('sha256', 's3').update('payload').digest('hex') }, 'payload'), /does not match/, type);
  }
});

test('token (GitLab): compared whole, in constant time', () => {
  const spec = { type: 'token', header: 'X-Gitlab-Token' };
  assert.equal(verify(spec, 'tok-123', { 'x-gitlab-token': 'tok-123' }, 'anything'), null);
  assert.match(verify(spec, 'tok-123', { 'x-gitlab-token': 'tok-12' }, ''), /wrong/);
  assert.match(verify(spec, 'tok-123', { 'x-gitlab-token': 'tok-1234' }, ''), /wrong/);
  assert.match(verify(spec, 'tok-123', {}, ''), /no X-Gitlab-Token/);
});

// Stripe's documented scheme: HMAC-SHA256 of `${t}.${payload}`, hex, in v1=; several v1 may be sent.
test('Stripe: the documented scheme, tolerance, several v1 signatures', () => {
  const secret = 'whsec_test_secret';
  const body = '{"id":"evt_1","object":"event"}';
  const t = 1700000000;
  const sig = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  const spec = { type: 'stripe' };
  const header = (v) => ({ 'stripe-signature': v });
  assert.equal(verify(spec, secret, header(`t=${t},v1=${sig}`), body, t + 10), null);
  assert.equal(verify(spec, secret, header(`t=${t},v1=${'0'.repeat(64)},v1=${sig},v0=abc`), body, t), null);
  assert.match(verify(spec, secret, header(`t=${t},v1=${sig}`), body, t + 301), /s old/);
  assert.match(verify(spec, secret, header(`t=${t},v1=${sig}`), body, t - 301), /in the future/);
  assert.equal(verify({ type: 'stripe', tolerance: 600 }, secret, header(`t=${t},v1=${sig}`), body, t + 500), null);
  assert.match(verify(spec, secret, header(`t=${t + 1},v1=${sig}`), body, t), /does not match/);
  assert.match(verify(spec, secret, header(`v1=${sig}`), body, t), /no timestamp/);
  assert.match(verify(spec, secret, header(`t=${t},v0=${sig}`), body, t), /no v1 signature/);
  assert.match(verify(spec, secret, {}, body, t), /no Stripe-Signature/);
});

// Slack's published example (api.slack.com, "Verifying requests from Slack").
test('Slack: the published example verifies at its own time, and not 5 minutes later', () => {
  const secret = '8f742231b10e8888abcd99yyyzzz85a5';
  const ts = '1531420618';
  const body =
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const headers = { 'x-slack-request-timestamp': ts, 'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503' };
  const spec = { type: 'slack' };
  assert.equal(verify(spec, secret, headers, body, Number(ts)), null);
  assert.match(verify(spec, secret, headers, body, Number(ts) + 301), /s old/);
  assert.match(verify(spec, secret, headers, body + '&x=1', Number(ts)), /does not match/);
  assert.match(verify(spec, secret, { ...headers, 'x-slack-signature': 'v1=00' }, body, Number(ts)), /not a v0/);
  assert.match(verify(spec, secret, { 'x-slack-signature': headers['x-slack-signature'] }, body, Number(ts)), /Timestamp/);
});

test('JSON Pointer (RFC 6901 section 5 examples)', () => {
  const doc = { foo: ['bar', 'baz'], '': 0, 'a/b': 1, 'c%d': 2, 'e^f': 3, 'g|h': 4, 'i\\j': 5, 'k"l': 6, ' ': 7, 'm~n': 8 };
  const rows = [
    ['', doc], ['/foo', ['bar', 'baz']], ['/foo/0', 'bar'], ['/', 0], ['/a~1b', 1], ['/c%d', 2], ['/e^f', 3],
    ['/g|h', 4], ['/i\\j', 5], ['/k"l', 6], ['/ ', 7], ['/m~0n', 8],
    ['/foo/2', undefined], ['/foo/01', undefined], ['/foo/-', undefined], ['/missing/x', undefined], ['/foo/0/x', undefined],
  ];
  for (const [pointer, want] of rows) assert.deepEqual(resolvePointer(doc, parsePointer(pointer)), want, pointer);
  assert.throws(() => parsePointer('foo'), RuleError);
  assert.throws(() => parsePointer('/a~2'), RuleError);
  assert.equal(resolvePointer({ constructor: 1 }, parsePointer('/constructor')), 1);
  assert.equal(resolvePointer({}, parsePointer('/constructor')), undefined, 'inherited properties are absent');
  assert.equal(resolvePointer({}, parsePointer('/__proto__')), undefined);
});

const INPUT = {
  payload: { ref: 'refs/heads/main', n: 42, ok: true, nothing: null, commits: [{ id: 'abc' }], obj: { a: 1 } },
  headers: { 'x-github-event': 'push' },
  query: new URLSearchParams('env=prod'),
  form: new URLSearchParams('action=go'),
};

test('rules: each source and test; absent values compare false', () => {
  const rows = [
    [{ field: '/ref', equals: 'refs/heads/main' }, true],
    [{ field: '/ref', equals: 'refs/heads/dev' }, false],
    [{ field: '/n', equals: 42 }, true],
    [{ field: '/n', equals: '42' }, true],
    [{ field: '/ok', equals: true }, true],
    [{ field: '/nothing', equals: null }, true],
    [{ field: '/commits/0/id', matches: '^a' }, true],
    [{ field: '/ref', matches: 'main$' }, true],
    [{ field: '/ref', in: ['refs/heads/dev', 'refs/heads/main'] }, true],
    [{ field: '/missing', equals: 'x' }, false],
    [{ not: { field: '/missing', equals: 'x' } }, true],
    [{ header: 'X-GitHub-Event', equals: 'push' }, true],
    [{ header: 'X-Other', equals: 'push' }, false],
    [{ query: 'env', equals: 'prod' }, true],
    [{ form: 'action', equals: 'go' }, true],
    [{ and: [{ field: '/ref', equals: 'refs/heads/main' }, { header: 'x-github-event', equals: 'push' }] }, true],
    [{ and: [{ field: '/ref', equals: 'refs/heads/main' }, { header: 'x-github-event', equals: 'ping' }] }, false],
    [{ or: [{ field: '/ref', equals: 'nope' }, { query: 'env', in: ['prod'] }] }, true],
    [{ not: { or: [{ field: '/ref', equals: 'nope' }] } }, true],
  ];
  for (const [rule, want] of rows) assert.equal(compileRule(rule, 'when')(INPUT), want, JSON.stringify(rule));
  assert.equal(compileRule({ field: '/ref', equals: 'x' }, 'when')({ ...INPUT, payload: undefined }), false, 'no payload');
});

test('rules: mistakes are errors at start-up', () => {
  for (const rule of [
    {}, [], 'x', { field: '/ref' }, { field: '/ref', equals: 'a', matches: 'b' }, { field: '/ref', header: 'x', equals: 'a' },
    { field: 'ref', equals: 'a' }, { field: '/ref', matches: '(' }, { field: '/ref', in: [] }, { field: '/ref', equals: { a: 1 } },
    { and: [] }, { and: {} }, { not: { field: '/ref', equals: 'a' }, extra: 1 }, { field: '/ref', equals: 'a', typo: 1 }, { header: '', equals: 'a' },
  ]) {
    assert.throws(() => compileRule(rule, 'when'), RuleError, JSON.stringify(rule));
  }
});

test('sources: strings as they are, other JSON as JSON', () => {
  assert.equal(compileSource('/ref', 'env')(INPUT), 'refs/heads/main');
  assert.equal(compileSource('/n', 'env')(INPUT), '42');
  assert.equal(compileSource('/obj', 'env')(INPUT), '{"a":1}');
  assert.equal(compileSource('/missing', 'env')(INPUT), undefined);
  assert.equal(compileSource({ header: 'x-github-event' }, 'env')(INPUT), 'push');
  assert.equal(compileSource({ field: '/ok' }, 'env')(INPUT), 'true');
  assert.throws(() => compileSource({ header: 'a', query: 'b' }, 'env'), RuleError);
  assert.throws(() => compileSource(7, 'env'), RuleError);
});

test('hook config: secrets from the environment or a file, never the config; reserved names refused', () => {
  const env = { GH: 'sekrit', EMPTY: '' };
  assert.ok(resolveHook({ verify: { ...GITHUB, secretEnv: 'GH' } }, 'route', '/', env).verifier);
  const bad = [
    [{ verify: { ...GITHUB, secretEnv: 'NOPE' } }, /NOPE is not set or empty/],
    [{ verify: { ...GITHUB, secretEnv: 'EMPTY' } }, /EMPTY is not set or empty/],
    [{ verify: { ...GITHUB, secretFile: '/nonexistent/secret' } }, /cannot read the secret file/],
    [{ verify: { ...GITHUB } }, /exactly one of secretEnv or secretFile/],
    [{ verify: { ...GITHUB, secretEnv: 'GH', secret: 'x' } }, /never go in the config file/],
    [{ verify: { type: 'md5', header: 'x', secretEnv: 'GH' } }, /verify type must be one of/],
    [{ verify: { type: 'hmac-sha256', secretEnv: 'GH' } }, /needs "header"/],
    [{ env: { PATH: '/ref' } }, /set by the server/],
    [{ env: { LD_PRELOAD: '/ref' } }, /set by the server/],
    [{ env: { REMOTE_ADDR: '/ref' } }, /set by the server/],
    [{ env: { HTTP_X: '/ref' } }, /set by the server/],
    [{ env: { 'A-B': '/ref' } }, /not a variable name/],
    [{ response: 'later' }, /"wait" or "async"/],
    [{ jobs: true }, /needs "response": "async"/],
    [{ allowFrom: ['10.0.0.0/33'] }, /not an address or CIDR/],
    [{ allowFrom: ['example.com'] }, /not an address or CIDR/],
    [{ maxJobs: 0 }, /maxJobs/],
  ];
  for (const [options, message] of bad) assert.throws(() => resolveHook(options, 'route', '/', env), (err) => err instanceof ConfigError && message.test(err.message), JSON.stringify(options));
});
