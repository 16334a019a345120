// Table tests of the CGI header-block parser (RFC 3875 section 6), without
// processes: parseCgiHead decides the response from a complete block,
// CgiHeadParser finds the block's end in a stream of chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CgiHeadParser, CgiOutputError, MAX_HEAD_BYTES, MAX_HEAD_LINES, decideCgiOutput, parseCgiHead } from '../dist/cgi/parse.js';

const doc = (status, headers, reason = '') => ({ kind: 'document', status, reason, headers });

// Each block is what precedes the empty line. `want` is the exact decided head.
const ACCEPTED = [
  { name: 'LF lines', block: 'Content-Type: text/plain\n', want: doc(200, [['Content-Type', 'text/plain']]) },
  { name: 'CRLF lines', block: 'Content-Type: text/plain\r\n', want: doc(200, [['Content-Type', 'text/plain']]) },
  {
    name: 'mixed LF and CRLF',
    block: 'Content-Type: text/html\r\nX-A: 1\nX-B: 2\r\n',
    want: doc(200, [['Content-Type', 'text/html'], ['X-A', '1'], ['X-B', '2']]),
  },
  { name: 'block without final line end', block: 'Content-Type: a/b', want: doc(200, [['Content-Type', 'a/b']]) },
  {
    name: 'header name case kept, value trimmed',
    block: 'content-TYPE:   text/plain  \n',
    want: doc(200, [['content-TYPE', 'text/plain']]),
  },
  { name: 'no space after colon', block: 'Content-Type:text/plain\n', want: doc(200, [['Content-Type', 'text/plain']]) },
  { name: 'empty value of an ordinary header', block: 'Content-Type: a/b\nX-Empty:\n', want: doc(200, [['Content-Type', 'a/b'], ['X-Empty', '']]) },
  { name: 'HTAB inside a value', block: 'Content-Type: a/b\nX-T: a\tb\n', want: doc(200, [['Content-Type', 'a/b'], ['X-T', 'a\tb']]) },
  { name: 'obs-text (latin1) in a value', block: 'Content-Type: a/b\nX-L: caf\xe9\n', want: doc(200, [['Content-Type', 'a/b'], ['X-L', 'caf\xe9']]) },
  {
    name: 'obs-text NBSP at the end of a value is part of the value (only SP/HTAB are OWS)',
    block: 'Content-Type: a/b\nX-L: a\xa0\n',
    want: doc(200, [['Content-Type', 'a/b'], ['X-L', 'a\xa0']]),
  },
  { name: 'Status with reason', block: 'Status: 404 Not Here\nContent-Type: text/plain\n', want: doc(404, [['Content-Type', 'text/plain']], 'Not Here') },
  { name: 'Status without reason', block: 'Status: 201\nContent-Type: text/plain\n', want: doc(201, [['Content-Type', 'text/plain']]) },
  { name: 'Status lower-case name', block: 'status: 418 Teapot\nContent-Type: text/plain\n', want: doc(418, [['Content-Type', 'text/plain']], 'Teapot') },
  { name: 'Status 200 lower bound', block: 'Status: 200 OK\nContent-Type: a/b\n', want: doc(200, [['Content-Type', 'a/b']], 'OK') },
  { name: 'Status 599 upper bound', block: 'Status: 599 Odd\nContent-Type: a/b\n', want: doc(599, [['Content-Type', 'a/b']], 'Odd') },
  { name: 'Status reason with spaces', block: 'Status: 500 Very Bad Thing\nContent-Type: a/b\n', want: doc(500, [['Content-Type', 'a/b']], 'Very Bad Thing') },
  { name: 'Status comes after other headers', block: 'Content-Type: a/b\nStatus: 202\n', want: doc(202, [['Content-Type', 'a/b']]) },
  { name: 'Location: /x alone is a local redirect', block: 'Location: /x\n', want: { kind: 'local-redirect', location: '/x' } },
  { name: 'local redirect keeps the query', block: 'Location: /a/b?c=d\r\n', want: { kind: 'local-redirect', location: '/a/b?c=d' } },
  {
    name: 'Location: /x + Status: 303 is a client redirect',
    block: 'Location: /x\nStatus: 303 See Other\n',
    want: doc(303, [['Location', '/x']], 'See Other'),
  },
  {
    name: 'Location: /x + Status: 301, Status first',
    block: 'Status: 301\nLocation: /x\n',
    want: doc(301, [['Location', '/x']]),
  },
  {
    name: 'absolute URL Location is a 302',
    block: 'Location: http://example.com/x\n',
    want: doc(302, [['Location', 'http://example.com/x']]),
  },
  {
    name: 'https URL Location is a 302',
    block: 'Location: https://example.com/\r\n',
    want: doc(302, [['Location', 'https://example.com/']]),
  },
  {
    name: '//evil Location is a client redirect, never local',
    block: 'Location: //evil.example/x\n',
    want: doc(302, [['Location', '//evil.example/x']]),
  },
  {
    name: 'local Location with a document (Content-Type) is a 302 with body',
    block: 'Location: /x\nContent-Type: text/html\n',
    want: doc(302, [['Location', '/x'], ['Content-Type', 'text/html']]),
  },
  {
    name: 'absolute Location with explicit 307',
    block: 'Status: 307\nLocation: http://h/\n',
    want: doc(307, [['Location', 'http://h/']]),
  },
  { name: '204 needs no Content-Type', block: 'Status: 204\n', want: doc(204, []) },
  { name: '304 needs no Content-Type', block: 'Status: 304 Not Modified\nETag: "x"\n', want: doc(304, [['ETag', '"x"']], 'Not Modified') },
  {
    name: 'repeated Set-Cookie kept separate and in order',
    block: 'Content-Type: a/b\nSet-Cookie: a=1\nX-Other: y\nSet-Cookie: b=2; Path=/\nset-cookie: c=3\n',
    want: doc(200, [['Content-Type', 'a/b'], ['Set-Cookie', 'a=1'], ['X-Other', 'y'], ['Set-Cookie', 'b=2; Path=/'], ['set-cookie', 'c=3']]),
  },
  { name: 'repeated ordinary header kept', block: 'Content-Type: a/b\nVary: A\nVary: B\n', want: doc(200, [['Content-Type', 'a/b'], ['Vary', 'A'], ['Vary', 'B']]) },
  ...['Connection: close', 'Transfer-Encoding: chunked', 'Keep-Alive: timeout=5', 'TE: trailers', 'Trailer: X', 'Upgrade: h2c', 'Proxy-Connection: keep-alive', 'connection: close'].map(
    (line) => ({
      name: `hop-by-hop dropped: ${line}`,
      block: `Content-Type: a/b\n${line}\nX-Kept: 1\n`,
      want: doc(200, [['Content-Type', 'a/b'], ['X-Kept', '1']]),
    }),
  ),
  { name: 'Content-Length numeric kept', block: 'Content-Type: a/b\nContent-Length: 42\n', want: doc(200, [['Content-Type', 'a/b'], ['Content-Length', '42']]) },
  { name: 'Content-Length 0 kept', block: 'Content-Type: a/b\nContent-Length: 0\n', want: doc(200, [['Content-Type', 'a/b'], ['Content-Length', '0']]) },
  {
    name: 'token characters in a header name',
    block: "Content-Type: a/b\nX-!#$%&'*+.^_`|~09: v\n",
    want: doc(200, [['Content-Type', 'a/b'], ["X-!#$%&'*+.^_`|~09", 'v']]),
  },
  { name: 'value with a colon', block: 'Content-Type: a/b\nX-Time: 12:30:00\n', want: doc(200, [['Content-Type', 'a/b'], ['X-Time', '12:30:00']]) },
];

for (const c of ACCEPTED) {
  test(`parseCgiHead accepts: ${c.name}`, () => {
    assert.deepEqual(parseCgiHead(c.block), c.want, JSON.stringify(c.block));
  });
}

// Each block must be refused with CgiOutputError (the handler's 502).
const REFUSED = [
  { name: 'empty block (output starts with a blank line)', block: '' },
  { name: 'Status out of range 99', block: 'Status: 99\nContent-Type: a/b\n' },
  { name: 'Status 1xx', block: 'Status: 100 Continue\nContent-Type: a/b\n' },
  { name: 'Status 199', block: 'Status: 199\nContent-Type: a/b\n' },
  { name: 'Status 600', block: 'Status: 600\nContent-Type: a/b\n' },
  { name: 'Status 999', block: 'Status: 999 Nine\nContent-Type: a/b\n' },
  { name: 'Status four digits', block: 'Status: 2000\nContent-Type: a/b\n' },
  { name: 'Status garbage', block: 'Status: OK\nContent-Type: a/b\n' },
  { name: 'Status digits glued to text', block: 'Status: 200OK\nContent-Type: a/b\n' },
  { name: 'Status empty', block: 'Status:\nContent-Type: a/b\n' },
  { name: 'Status with sign', block: 'Status: +200\nContent-Type: a/b\n' },
  { name: 'Status HTTP status line', block: 'Status: HTTP/1.1 200 OK\nContent-Type: a/b\n' },
  { name: 'repeated Content-Type', block: 'Content-Type: a/b\nContent-Type: c/d\n' },
  { name: 'repeated Content-Type, other case', block: 'Content-Type: a/b\ncontent-type: a/b\n' },
  { name: 'repeated Content-Length', block: 'Content-Type: a/b\nContent-Length: 1\nContent-Length: 1\n' },
  { name: 'repeated Location', block: 'Location: /a\nLocation: /b\n' },
  { name: 'repeated Status', block: 'Status: 200\nStatus: 404\nContent-Type: a/b\n' },
  { name: 'header name with a space', block: 'Content-Type: a/b\nBad Name: x\n' },
  { name: 'space before the colon', block: 'Content-Type : a/b\n' },
  { name: 'empty header name', block: 'Content-Type: a/b\n: x\n' },
  { name: 'header name with (', block: 'Content-Type: a/b\nX(y): x\n' },
  { name: 'header name with /', block: 'Content-Type: a/b\nX/y: x\n' },
  { name: 'non-ASCII header name (latin1)', block: 'Content-Type: a/b\nX-\xe9: x\n' },
  { name: 'non-ASCII header name (UTF-8 bytes as latin1)', block: 'Content-Type: a/b\nX-\xc3\xa9: x\n' },
  { name: 'line without colon', block: 'Content-Type: a/b\nnot a header\n' },
  { name: 'NUL in a value', block: 'Content-Type: a/b\nX-A: a\x00b\n' },
  { name: 'bare CR inside a value', block: 'Content-Type: a/b\nX-A: a\rInjected: 1\n' },
  { name: 'bare CR as line end (value then CR CR LF)', block: 'Content-Type: a/b\nX-A: a\r\r\n' },
  { name: 'ESC in a value', block: 'Content-Type: a/b\nX-A: \x1b[31mred\n' },
  { name: 'DEL in a value', block: 'Content-Type: a/b\nX-A: a\x7f\n' },
  { name: 'vertical tab at the start of a value', block: 'Content-Type: a/b\nX-A: \x0bv\n' },
  { name: 'form feed at the end of a value', block: 'Content-Type: a/b\nX-A: v\x0c\n' },
  { name: 'control char in Status reason', block: 'Status: 200 O\x01K\nContent-Type: a/b\n' },
  { name: 'control char in Location', block: 'Location: /x\x1by\n' },
  { name: 'obs-fold continuation with space', block: 'Content-Type: a/b\nX-A: one\n two\n' },
  { name: 'obs-fold continuation with tab', block: 'Content-Type: a/b\r\nX-A: one\r\n\ttwo\r\n' },
  { name: 'first line starts with a space', block: ' Content-Type: a/b\n' },
  { name: 'Content-Length non-numeric', block: 'Content-Type: a/b\nContent-Length: abc\n' },
  { name: 'Content-Length negative', block: 'Content-Type: a/b\nContent-Length: -1\n' },
  { name: 'Content-Length list', block: 'Content-Type: a/b\nContent-Length: 1, 1\n' },
  { name: 'Content-Length exponent', block: 'Content-Type: a/b\nContent-Length: 1e3\n' },
  { name: 'Content-Length hex', block: 'Content-Type: a/b\nContent-Length: 0x10\n' },
  { name: 'Content-Length empty', block: 'Content-Type: a/b\nContent-Length:\n' },
  { name: 'Content-Length too large', block: 'Content-Type: a/b\nContent-Length: 9999999999999999999\n' },
  { name: 'empty Location', block: 'Location:\nContent-Type: a/b\n' },
  { name: 'too many header lines', block: 'Content-Type: a/b\n' + 'X-A: 1\n'.repeat(MAX_HEAD_LINES) },
  { name: 'HTTP status line instead of headers', block: 'HTTP/1.1 200 OK\nContent-Type: a/b\n' },
];

for (const c of REFUSED) {
  test(`parseCgiHead refuses: ${c.name}`, () => {
    assert.throws(() => parseCgiHead(c.block), CgiOutputError, JSON.stringify(c.block));
  });
}

test('parseCgiHead accepts exactly MAX_HEAD_LINES lines', () => {
  const block = 'Content-Type: a/b\n' + 'X-A: 1\n'.repeat(MAX_HEAD_LINES - 1);
  const head = parseCgiHead(block);
  assert.equal(head.kind, 'document');
  assert.equal(head.headers.length, MAX_HEAD_LINES);
});

test('CgiOutputError is an Error with a message', () => {
  assert.throws(() => decideCgiOutput('X-A: 1\n\nbody'), (err) => err instanceof CgiOutputError && err instanceof Error && /Content-Type/.test(err.message));
});

// --- The whole output: Status × Location × Content-Type × body (issue 14) ---
// RFC 3875 6.3.1 asks for Content-Type only when a body is returned: a head
// without it is a whole answer when the body is empty (git http-backend's
// `Status: 404` and `Status: 403`), and a 502 when body bytes follow.
// Each row: [Status line or '', Location or '', Content-Type?, body, outcome],
// outcome: a status number (a document), 'local' (a local redirect) or 'refused' (502).
const COMBINATIONS = [
  // no Status
  ['', '', false, '', 200],
  ['', '', false, 'body', 'refused'],
  ['', '', true, '', 200],
  ['', '', true, 'body', 200],
  ['', '/x', false, '', 'local'],
  ['', '/x', false, 'ignored body', 'local'],
  ['', '/x', true, '', 302],
  ['', '/x', true, 'body', 302],
  ['', 'http://h/x', false, '', 302],
  ['', 'http://h/x', false, 'body', 'refused'],
  ['', 'http://h/x', true, '', 302],
  ['', 'http://h/x', true, 'body', 302],
  // Status: 200
  ['200 OK', '', false, '', 200],
  ['200 OK', '', false, 'body', 'refused'],
  ['200 OK', '', true, '', 200],
  ['200 OK', '', true, 'body', 200],
  ['200 OK', '/x', false, '', 'local'],
  ['200 OK', '/x', false, 'ignored body', 'local'],
  ['200 OK', '/x', true, '', 200],
  ['200 OK', '/x', true, 'body', 200],
  ['200 OK', 'http://h/x', false, '', 200],
  ['200 OK', 'http://h/x', false, 'body', 'refused'],
  ['200 OK', 'http://h/x', true, '', 200],
  ['200 OK', 'http://h/x', true, 'body', 200],
  // Status: 404 (git http-backend, a missing repository)
  ['404 Not Found', '', false, '', 404],
  ['404 Not Found', '', false, 'body', 'refused'],
  ['404 Not Found', '', true, '', 404],
  ['404 Not Found', '', true, 'body', 404],
  ['404 Not Found', '/x', false, '', 404],
  ['404 Not Found', '/x', false, 'body', 'refused'],
  ['404 Not Found', '/x', true, '', 404],
  ['404 Not Found', '/x', true, 'body', 404],
  ['404 Not Found', 'http://h/x', false, '', 404],
  ['404 Not Found', 'http://h/x', false, 'body', 'refused'],
  ['404 Not Found', 'http://h/x', true, 'body', 404],
  // Status: 303 (a client redirect, with or without a document)
  ['303 See Other', '', false, '', 303],
  ['303 See Other', '', false, 'body', 'refused'],
  ['303 See Other', '/x', false, '', 303],
  ['303 See Other', '/x', false, 'body', 'refused'],
  ['303 See Other', '/x', true, 'body', 303],
  ['303 See Other', 'http://h/x', false, '', 303],
  ['303 See Other', 'http://h/x', false, 'body', 'refused'],
  ['303 See Other', 'http://h/x', true, 'body', 303],
  // Status: 204 and 304 never have a body (the relay drops any): no type needed either way
  ['204 No Content', '', false, '', 204],
  ['204 No Content', '', false, 'dropped', 204],
  ['304 Not Modified', '', false, '', 304],
  ['304 Not Modified', '', false, 'dropped', 304],
  ['304 Not Modified', '', true, '', 304],
  // Status: 403 (git http-backend, a refused push: cache headers, no type, no body)
  ['403 Forbidden', '', false, '', 403],
  ['403 Forbidden', '', false, 'body', 'refused'],
];

for (const [status, location, typed, body, outcome] of COMBINATIONS) {
  const lines = [];
  if (status) lines.push(`Status: ${status}`);
  if (location) lines.push(`Location: ${location}`);
  if (typed) lines.push('Content-Type: text/plain');
  lines.push('Cache-Control: no-cache');
  const output = lines.join('\r\n') + '\r\n\r\n' + body;
  test(`whole output: ${JSON.stringify({ status, location, typed, body })} → ${outcome}`, () => {
    if (outcome === 'refused') {
      assert.throws(() => decideCgiOutput(output), (err) => err instanceof CgiOutputError && /Content-Type/.test(err.message));
      return;
    }
    const head = decideCgiOutput(output);
    if (outcome === 'local') {
      assert.deepEqual(head, { kind: 'local-redirect', location });
      return;
    }
    assert.equal(head.kind, 'document');
    assert.equal(head.status, outcome);
    assert.equal(head.reason, status ? status.slice(4) : '');
    const names = head.headers.map(([n]) => n);
    assert.deepEqual(names, [...(location ? ['Location'] : []), ...(typed ? ['Content-Type'] : []), 'Cache-Control']);
  });
}


// --- CgiHeadParser: the same output, split every which way ---

/** Feed `chunks` until the parser answers; returns its result and the number of chunks used. */
function feed(parser, chunks) {
  for (let i = 0; i < chunks.length; i++) {
    const r = parser.push(chunks[i]);
    if (r !== null) return { result: r, used: i + 1 };
  }
  return { result: null, used: chunks.length };
}

/** Bytes after the head, including any chunks fed after the one that completed it. */
function bodyAfter(chunks) {
  const parser = new CgiHeadParser();
  const { result, used } = feed(parser, chunks);
  assert.ok(result, 'the head should be complete');
  return { head: result.head, body: Buffer.concat([result.rest, ...chunks.slice(used)]) };
}

function splitAt(buf, cuts) {
  const out = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

const BINARY_BODY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

const STREAMS = [
  {
    name: 'LF head, text body',
    head: 'Content-Type: text/plain\nX-A: 1\n\n',
    body: Buffer.from('hello\n\nworld\r\n\r\n'),
    want: doc(200, [['Content-Type', 'text/plain'], ['X-A', '1']]),
  },
  {
    name: 'CRLF head, binary body',
    head: 'Status: 201 Made\r\nContent-Type: application/octet-stream\r\n\r\n',
    body: BINARY_BODY,
    want: doc(201, [['Content-Type', 'application/octet-stream']], 'Made'),
  },
  {
    name: 'mixed head ends with LF CRLF, body starts with CRLF',
    head: 'Content-Type: a/b\r\nX-A: 1\n\r\n',
    body: Buffer.from('\r\nbody'),
    want: doc(200, [['Content-Type', 'a/b'], ['X-A', '1']]),
  },
  {
    name: 'CRLF head ends with CRLF LF',
    head: 'Content-Type: a/b\r\n\n',
    body: Buffer.from('\nx'),
    want: doc(200, [['Content-Type', 'a/b']]),
  },
  {
    name: 'empty body',
    head: 'Location: /elsewhere\r\n\r\n',
    body: Buffer.alloc(0),
    want: { kind: 'local-redirect', location: '/elsewhere' },
  },
  {
    name: 'UTF-8 bytes in a value and body',
    head: 'Content-Type: text/plain; charset=utf-8\nX-N: caf\u00c3\u00a9\n\n',
    body: Buffer.from('café ☕'),
    want: doc(200, [['Content-Type', 'text/plain; charset=utf-8'], ['X-N', 'caf\u00c3\u00a9']]),
  },
];

for (const s of STREAMS) {
  const whole = Buffer.concat([Buffer.from(s.head, 'latin1'), s.body]);
  const headLen = Buffer.byteLength(s.head, 'latin1');

  test(`CgiHeadParser one chunk: ${s.name}`, () => {
    const r = new CgiHeadParser().push(whole);
    assert.ok(r);
    assert.deepEqual(r.head, s.want);
    assert.deepEqual(r.rest, s.body);
  });

  test(`CgiHeadParser byte by byte: ${s.name}`, () => {
    const parser = new CgiHeadParser();
    const chunks = [...whole].map((b) => Buffer.from([b]));
    const { result, used } = feed(parser, chunks);
    assert.ok(result);
    assert.equal(used, headLen, 'answered exactly at the byte that ends the blank line');
    assert.deepEqual(result.head, s.want);
    assert.equal(result.rest.length, 0);
    assert.deepEqual(Buffer.concat(chunks.slice(used)), s.body);
  });

  test(`CgiHeadParser every two-way split: ${s.name}`, () => {
    for (let cut = 0; cut <= whole.length; cut++) {
      const { head, body } = bodyAfter(splitAt(whole, [cut]));
      assert.deepEqual(head, s.want, `cut at ${cut}`);
      assert.deepEqual(body, s.body, `cut at ${cut}`);
    }
  });

  test(`CgiHeadParser every three-way split around the head end: ${s.name}`, () => {
    const lo = Math.max(0, headLen - 5);
    const hi = Math.min(whole.length, headLen + 3);
    for (let a = lo; a <= hi; a++) {
      for (let b = a; b <= hi; b++) {
        const { head, body } = bodyAfter(splitAt(whole, [a, b]));
        assert.deepEqual(head, s.want, `cuts at ${a},${b}`);
        assert.deepEqual(body, s.body, `cuts at ${a},${b}`);
      }
    }
  });
}

const ODD_SPLITS = [
  {
    name: 'blank line split \\r | \\n\\r\\n',
    chunks: ['Content-Type: a/b\r', '\n\r\nBODY'],
    rest: 'BODY',
  },
  {
    name: 'blank line split \\r\\n\\r | \\n',
    chunks: ['Content-Type: a/b\r\n\r', '\nBODY'],
    rest: 'BODY',
  },
  {
    name: 'blank line split \\r\\n | \\r | \\n',
    chunks: ['Content-Type: a/b\r\n', '\r', '\nBODY'],
    rest: 'BODY',
  },
  {
    name: 'blank line split \\n | \\n',
    chunks: ['Content-Type: a/b\n', '\nBODY'],
    rest: 'BODY',
  },
  {
    name: 'empty chunks in between',
    chunks: ['', 'Content-Type: a/b\n', '', '\n', ''],
    rest: '',
  },
  {
    name: 'header name split across chunks',
    chunks: ['Cont', 'ent-Ty', 'pe: a/b\n\nB'],
    rest: 'B',
  },
];

for (const c of ODD_SPLITS) {
  test(`CgiHeadParser odd split: ${c.name}`, () => {
    const parser = new CgiHeadParser();
    const chunks = c.chunks.map((s) => Buffer.from(s, 'latin1'));
    const { result, used } = feed(parser, chunks);
    assert.ok(result, 'head complete');
    assert.deepEqual(result.head, doc(200, [['Content-Type', 'a/b']]));
    assert.equal(Buffer.concat([result.rest, ...chunks.slice(used)]).toString('latin1'), c.rest);
  });
}

test('CgiHeadParser: no blank line yet → null, and received counts bytes', () => {
  const parser = new CgiHeadParser();
  assert.equal(parser.push(Buffer.from('Content-Type: a/b\n')), null);
  assert.equal(parser.push(Buffer.from('X-A: 1\r\n')), null);
  assert.equal(parser.push(Buffer.from('X-B: 2\r')), null);
  assert.equal(parser.received, 18 + 8 + 7);
  const r = parser.push(Buffer.from('\n\r\nz'));
  assert.ok(r);
  assert.deepEqual(r.head, doc(200, [['Content-Type', 'a/b'], ['X-A', '1'], ['X-B', '2']]));
  assert.deepEqual(r.rest, Buffer.from('z'));
});

test('CgiHeadParser: a single CR LF line is not yet a blank line', () => {
  const parser = new CgiHeadParser();
  assert.equal(parser.push(Buffer.from('Content-Type: a/b\r\n')), null);
});

const LEADING_BLANK = [
  { name: 'LF', chunks: ['\nContent-Type: a/b\n\n'] },
  { name: 'CRLF', chunks: ['\r\nContent-Type: a/b\r\n\r\n'] },
  { name: 'CRLF split', chunks: ['\r', '\nContent-Type: a/b\r\n\r\n'] },
  { name: 'LF alone', chunks: ['\n'] },
];

for (const c of LEADING_BLANK) {
  test(`CgiHeadParser: output starting with a blank line is refused (${c.name})`, () => {
    const parser = new CgiHeadParser();
    assert.throws(() => {
      for (const s of c.chunks) parser.push(Buffer.from(s));
    }, CgiOutputError);
  });
}

test('CgiHeadParser: a malformed block fed in pieces is refused when complete', () => {
  const parser = new CgiHeadParser();
  assert.equal(parser.push(Buffer.from('Content-Type: a/b\nX A: 1\n')), null);
  assert.throws(() => parser.push(Buffer.from('\nbody')), CgiOutputError, 'invalid header name');
});

const SIZE_LIMIT = [
  { name: 'incomplete block over the limit in one chunk', limit: 32, chunks: ['X-A: ' + 'a'.repeat(40)] },
  { name: 'incomplete block grows over the limit', limit: 32, chunks: ['X-A: aaaaaaaaaa\n', 'X-B: bbbbbbbbbb\n', 'X-C: c\n'] },
  { name: 'complete block over the limit in one chunk', limit: 32, chunks: ['Content-Type: a/b\nX-A: ' + 'a'.repeat(40) + '\n\nbody'] },
  { name: 'huge line without end, default limit', limit: undefined, chunks: Array.from({ length: 70 }, () => 'x'.repeat(1024)) },
];

for (const c of SIZE_LIMIT) {
  test(`CgiHeadParser size limit: ${c.name}`, () => {
    const parser = c.limit === undefined ? new CgiHeadParser() : new CgiHeadParser(c.limit);
    assert.throws(() => {
      for (const s of c.chunks) parser.push(Buffer.from(s));
    }, CgiOutputError);
  });
}

test('CgiHeadParser size limit: a block under the limit with a large body is accepted', () => {
  const body = Buffer.alloc(MAX_HEAD_BYTES * 2, 0x61);
  const r = new CgiHeadParser(64).push(Buffer.concat([Buffer.from('Content-Type: a/b\n\n'), body]));
  assert.ok(r);
  assert.deepEqual(r.head, doc(200, [['Content-Type', 'a/b']]));
  assert.equal(r.rest.length, body.length);
  assert.ok(r.rest.equals(body));
});

test('CgiHeadParser size limit: a block of exactly the limit is accepted', () => {
  const block = 'Content-Type: a/b\n';
  const r = new CgiHeadParser(block.length).push(Buffer.from(block + '\nX'));
  assert.ok(r);
  assert.deepEqual(r.rest, Buffer.from('X'));
});
