// HTTP/2 attacks from a crafted client speaking raw frames (h2c with prior
// knowledge: the same node:http2 sessions and limits as over TLS). Each attack
// must end with the attacker's stream or connection refused, while another
// client keeps getting answers on its own connection.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { deadline, request, rmSync, tempDir, writeTree } from './helpers.mjs';
import { h2get, h2session, startAny } from './tls-helpers.mjs';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const TYPE = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 };
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ENHANCE_YOUR_CALM = 11;
const REFUSED_STREAM = 7;

function frame(type, flags, streamId, payload = Buffer.alloc(0)) {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 5.1). */
function hpackInt(value, prefixBits, firstByte = 0) {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** A header block of literals without indexing (RFC 7541 6.2.2), no Huffman. */
function headerBlock(fields) {
  const bytes = [];
  for (const [name, value] of fields) {
    bytes.push(0x00, ...hpackInt(Buffer.byteLength(name), 7), ...Buffer.from(name));
    bytes.push(...hpackInt(Buffer.byteLength(value), 7), ...Buffer.from(value));
  }
  return Buffer.from(bytes);
}

const get = (path, port, extra = []) => headerBlock([[':method', 'GET'], [':scheme', 'http'], [':path', path], [':authority', `127.0.0.1:${port}`], ...extra]);

/** A raw HTTP/2 client: sends the preface and SETTINGS, collects the frames the server sends, acknowledges its SETTINGS. */
function rawClient(port, { settings = Buffer.alloc(0), ack = true } = {}) {
  const socket = connect(port, '127.0.0.1');
  const frames = [];
  let buffered = Buffer.alloc(0);
  let closed = false;
  const waiters = [];
  const check = () => {
    for (const w of [...waiters]) if (w.test()) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      const f = { type: buffered[3], flags: buffered[4], stream: buffered.readUInt32BE(5) & 0x7fffffff, payload: buffered.subarray(9, 9 + length) };
      buffered = buffered.subarray(9 + length);
      frames.push(f);
      if (ack && f.type === TYPE.SETTINGS && !(f.flags & 1)) socket.write(frame(TYPE.SETTINGS, 1, 0));
    }
    check();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
    check();
  });
  socket.write(Buffer.concat([PREFACE, frame(TYPE.SETTINGS, 0, 0, settings)]));
  return {
    socket,
    frames,
    get closed() {
      return closed;
    },
    write: (data) => !closed && socket.write(data),
    until: (test, ms, what) => deadline(new Promise((resolve) => {
      waiters.push({ test, resolve });
      check();
    }), ms, what),
    goaway: () => frames.find((f) => f.type === TYPE.GOAWAY),
    destroy: () => socket.destroy(),
  };
}

/** Another client's plain requests, one after another, while an attack runs: resolves the number answered. */
function victim(port, stop) {
  return (async () => {
    let answered = 0;
    while (!stop.done) {
      const res = await request(port, '/a.txt', { timeout: 5000 });
      assert.equal(res.status, 200);
      answered++;
    }
    return answered;
  })();
}

describe('HTTP/2 attacks', () => {
  let dir;
  let srv;

  before(async () => {
    dir = tempDir();
    writeTree(dir, {
      'a.txt': 'small\n',
      'big.bin': Buffer.alloc(4 * 1024 * 1024, 7),
      'cgi-bin/late-big.sh': { content: '#!/bin/sh\nsleep 1.5\nprintf "Content-Type: application/octet-stream\\n\\n"\nhead -c 300000 /dev/zero\n', mode: 0o755 },
      'cgi-bin/quiet.sh': { content: '#!/bin/sh\nsleep 2.5\nprintf "Content-Type: text/plain\\n\\nafter silence\\n"\n', mode: 0o755 },
    });
    srv = await startAny({ root: dir, h2c: true, requestTimeout: 1 });
  });

  after(async () => {
    await srv?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Run an attack beside a victim; the victim must keep being answered. */
  async function beside(attack) {
    const stop = { done: false };
    const answered = victim(srv.port, stop);
    try {
      await attack();
    } finally {
      stop.done = true;
    }
    assert.ok((await answered) >= 1, 'the other client was answered during the attack');
    assert.equal((await request(srv.port, '/a.txt')).status, 200);
  }

  test('concurrent streams above the limit are refused', async () => {
    await beside(async () => {
      const c = rawClient(srv.port);
      // 150 requests that never end their side: each stays open.
      const frames = [];
      for (let i = 0; i < 150; i++) frames.push(frame(TYPE.HEADERS, END_HEADERS, 1 + 2 * i, get('/a.txt', srv.port)));
      c.write(Buffer.concat(frames));
      await c.until(() => c.frames.some((f) => f.type === TYPE.RST_STREAM && f.payload.readUInt32BE(0) === REFUSED_STREAM) || c.goaway(), 10000, 'refusal');
      const answered = new Set(c.frames.filter((f) => f.type === TYPE.HEADERS).map((f) => f.stream));
      assert.ok(answered.size <= 100, `at most 100 streams answered, got ${answered.size}`);
      c.destroy();
    });
  });

  test('a header list over the limit is refused', async () => {
    await beside(async () => {
      const c = rawClient(srv.port);
      // Over the limit whether or not the client has acknowledged the server's SETTINGS yet (nghttp2's default is 64 KiB).
      const block = get('/a.txt', srv.port, [['x-big', 'y'.repeat(70 * 1024)]]);
      // Split into HEADERS + CONTINUATION frames of 16 KiB (the default maximum frame size).
      const parts = [];
      for (let i = 0; i < block.length; i += 16384) parts.push(block.subarray(i, i + 16384));
      const out = parts.map((p, i) => frame(i === 0 ? TYPE.HEADERS : TYPE.CONTINUATION, (i === parts.length - 1 ? END_HEADERS : 0) | (i === 0 ? END_STREAM : 0), 1, p));
      c.write(Buffer.concat(out));
      await c.until(() => c.closed || c.goaway() || c.frames.some((f) => f.stream === 1 && (f.type === TYPE.RST_STREAM || f.type === TYPE.HEADERS)), 10000, 'answer to the big header block');
      const answer = c.frames.find((f) => f.stream === 1 && f.type === TYPE.HEADERS);
      // Refused one way or another: never a 200 for the oversized request.
      if (answer) assert.notEqual(answer.payload[0], 0x88, 'not a 200');
      c.destroy();
    });
  });

  test('rapid reset (CVE-2023-44487): the connection is closed with ENHANCE_YOUR_CALM', async () => {
    await beside(async () => {
      const c = rawClient(srv.port);
      const frames = [];
      for (let i = 0; i < 1000; i++) {
        const id = 1 + 2 * i;
        frames.push(frame(TYPE.HEADERS, END_HEADERS | END_STREAM, id, get('/a.txt', srv.port)), frame(TYPE.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])));
      }
      c.write(Buffer.concat(frames));
      await c.until(() => c.goaway() || c.closed, 10000, 'GOAWAY after rapid resets');
      const goaway = c.goaway();
      assert.ok(goaway, 'a GOAWAY frame');
      assert.equal(goaway.payload.readUInt32BE(4), ENHANCE_YOUR_CALM);
      await c.until(() => c.closed, 5000, 'close');
    });
    assert.ok(srv.logs.some((l) => /rapid reset/.test(l)), srv.logs.join('\n'));
  });

  test('rapid reset with NO_ERROR resets: the piled-up streams close the connection', async () => {
    await beside(async () => {
      const c = rawClient(srv.port);
      const frames = [];
      for (let i = 0; i < 1000; i++) {
        const id = 1 + 2 * i;
        frames.push(frame(TYPE.HEADERS, END_HEADERS | END_STREAM, id, get('/a.txt', srv.port)), frame(TYPE.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 0])));
      }
      c.write(Buffer.concat(frames));
      await c.until(() => c.closed, 10000, 'the connection closed');
      assert.equal(c.goaway()?.payload.readUInt32BE(4), ENHANCE_YOUR_CALM);
    });
    assert.ok(srv.logs.some((l) => /reset faster than they close/.test(l)), srv.logs.join('\n'));
  });

  test('a SETTINGS flood closes the connection', async () => {
    await beside(async () => {
      const c = rawClient(srv.port);
      const one = frame(TYPE.SETTINGS, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]));
      c.write(Buffer.concat(Array.from({ length: 2000 }, () => one)));
      await c.until(() => c.goaway() || c.closed, 10000, 'GOAWAY after the SETTINGS flood');
      const goaway = c.goaway();
      if (goaway) assert.equal(goaway.payload.readUInt32BE(4), ENHANCE_YOUR_CALM);
      await c.until(() => c.closed, 5000, 'close');
    });
  });

  test('a PING flood closes the connection', async () => {
    await beside(async () => {
      const c = rawClient(srv.port);
      const one = frame(TYPE.PING, 0, 0, Buffer.alloc(8, 1));
      c.write(Buffer.concat(Array.from({ length: 5000 }, () => one)));
      await c.until(() => c.goaway() || c.closed, 10000, 'GOAWAY after the PING flood');
      const goaway = c.goaway();
      if (goaway) assert.equal(goaway.payload.readUInt32BE(4), ENHANCE_YOUR_CALM);
      await c.until(() => c.closed, 5000, 'close');
    });
    assert.ok(srv.logs.some((l) => /PING flood/.test(l)), srv.logs.join('\n'));
  });

  test('streams stalled by a zero window are reset after the request timeout', async () => {
    await beside(async () => {
      // SETTINGS_INITIAL_WINDOW_SIZE = 0: the server may send no DATA on any stream.
      const c = rawClient(srv.port, { settings: Buffer.from([0, 4, 0, 0, 0, 0]) });
      const frames = [];
      for (let i = 0; i < 20; i++) frames.push(frame(TYPE.HEADERS, END_HEADERS | END_STREAM, 1 + 2 * i, get('/big.bin', srv.port)));
      c.write(Buffer.concat(frames));
      await c.until(() => c.frames.filter((f) => f.type === TYPE.RST_STREAM).length === 20, 15000, 'the stalled streams reset');
      assert.equal(c.frames.filter((f) => f.type === TYPE.DATA).length, 0);
      c.destroy();
    });
  });

  test('a stream waiting on its script (not on its client) outlives the request timeout', async () => {
    const session = h2session(`http://127.0.0.1:${srv.port}`);
    try {
      // The request timeout (1 s) and the idle-session check fire twice while the script is silent; neither resets it.
      const got = await h2get(session, '/cgi-bin/quiet.sh', { timeout: 15000 });
      assert.equal(got.status, 200);
      assert.equal(got.body.toString(), 'after silence\n');
    } finally {
      session.close();
    }
  });

  test('a stream that stalls after a silent script is still reset (the timeout re-arms)', async () => {
    await beside(async () => {
      const c = rawClient(srv.port, { settings: Buffer.from([0, 4, 0, 0, 0, 0]) });
      c.write(frame(TYPE.HEADERS, END_HEADERS | END_STREAM, 1, get('/cgi-bin/late-big.sh', srv.port)));
      await c.until(() => c.frames.some((f) => f.type === TYPE.RST_STREAM && f.stream === 1), 15000, 'the stalled script stream reset');
      c.destroy();
    });
  });
});
