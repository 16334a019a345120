// 13. uploads (issue 16): many large uploads at once, some cut off midway.
// Every completed file must be byte-identical to what was sent (SHA-256),
// no partial or temporary file may remain, and the server's memory must not
// grow with the bytes in flight (the bodies are streamed, never buffered).
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { makeSite, runCategory, settle, sleep, startStressServer, waitFor, warmUp } from './lib.mjs';

const FULL = 'full';
const MIB = 1024 * 1024;
const CHUNK = 64 * 1024;
const BOUNDARY = 'stress-upload-boundary';
/** The bound on the server's RSS growth during the run. */
const MAX_RSS_GROWTH_MIB = 50;

export function uploads(scale) {
  const P = scale === FULL ? { count: 100, mib: 10, aborted: 20 } : { count: 12, mib: 1, aborted: 3 };
  return runCategory(13, `uploads (${P.count} × ${P.mib} MiB, ${P.aborted} cut off)`, scale === FULL ? 180000 : 40000, async (cat) => {
    const site = makeSite(cat, 'uploads', { www: { 'in/.keep-dir': '' } });
    const dir = join(site.root, 'in');
    const srv = await startStressServer(cat, site.root, ['--upload', '--max-uploads', String(P.count)]);
    const fdsBefore = await warmUp(srv, ['/in/']);
    const rssCold = srv.info().rssKb;
    // A warm-up wave as wide as the run, of small files: what Node sizes once for that many
    // connections at once (the young generation, the thread pool) is in the baseline, as
    // warmUp puts lazily opened descriptors in theirs; the growth after it is what scales with the bytes.
    const warm = await Promise.all(Array.from({ length: P.count }, (_, i) => upload(srv.port, `w-${i}.bin`, 256 * 1024, i % 2 === 0 ? 'PUT' : 'POST', false)));
    for (const r of warm) cat.check(r.status === 201, () => `warm-up ${r.method} ${r.name}: ${r.error ?? r.status}`);
    const rssBefore = srv.info().rssKb;
    let rssMax = rssBefore;
    const sampler = setInterval(() => {
      const info = srv.info();
      if (info) rssMax = Math.max(rssMax, info.rssKb);
    }, 50);
    let results;
    try {
      results = await Promise.all(
        Array.from({ length: P.count }, (_, i) => {
          cat.sent++;
          return upload(srv.port, `u-${i}.bin`, P.mib * MIB, i % 2 === 0 ? 'PUT' : 'POST', i < P.aborted);
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    for (const r of results) {
      if (r.aborted) {
        cat.count('aborted');
        continue;
      }
      if (r.error) {
        cat.fail(`${r.name}: ${r.error}`);
        continue;
      }
      cat.tally(r.status);
      if (!cat.check(r.status === 201, () => `${r.method} ${r.name} answered ${r.status}`)) continue;
      let stored;
      try {
        stored = createHash('sha256').update(readFileSync(join(dir, r.name))).digest('hex');
      } catch (err) {
        cat.fail(`${r.name} was answered 201 but is missing: ${err.message}`);
        continue;
      }
      cat.check(stored === r.sha256, () => `${r.name}: stored SHA-256 differs from the bytes sent`);
    }
    // The cut-off uploads' temporaries go when the server notices the client left.
    const expected = new Set(['.keep-dir', ...warm.map((r) => r.name), ...results.filter((r) => !r.aborted).map((r) => r.name)]);
    const clean = () => readdirSync(dir).every((n) => expected.has(n));
    await waitFor(clean, 10000, 100);
    const extra = readdirSync(dir).filter((n) => !expected.has(n));
    cat.leftover = Math.max(cat.leftover, extra.length);
    cat.check(extra.length === 0, () => `partial or temporary files left: ${extra.slice(0, 5).join(', ')}`);
    const growthMib = (rssMax - rssBefore) / 1024;
    cat.check(growthMib < MAX_RSS_GROWTH_MIB, () => `server RSS grew ${growthMib.toFixed(1)} MiB during the uploads (limit ${MAX_RSS_GROWTH_MIB})`);
    cat.note(`${P.count - P.aborted} stored, ${P.aborted} cut off; RSS ${(rssCold / 1024).toFixed(1)} cold, ${(rssBefore / 1024).toFixed(1)} after the warm-up wave → max ${(rssMax / 1024).toFixed(1)} MiB (growth ${growthMib.toFixed(1)} MiB)`);
    await settle(cat, srv, { fdsBefore });
  });
}

/**
 * One upload over a raw socket: `size` bytes of random-seeded content (each
 * 64 KiB chunk numbered, so a reordering shows), as a PUT body or one file of
 * a multipart form, written with backpressure. `abort`: the socket is
 * destroyed halfway. Resolves { name, method, status, sha256 } or { aborted }.
 */
function upload(port, name, size, method, abort) {
  const seed = randomBytes(CHUNK);
  const hash = createHash('sha256');
  const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  const tail = `\r\n--${BOUNDARY}--\r\n`;
  const length = method === 'PUT' ? size : Buffer.byteLength(head) + size + Buffer.byteLength(tail);
  const target = method === 'PUT' ? `/in/${name}` : '/in/';
  const type = method === 'PUT' ? 'application/octet-stream' : `multipart/form-data; boundary=${BOUNDARY}`;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ name, method, ...value });
    };
    const timer = setTimeout(() => finish({ error: 'no answer within 120 s' }), 120000);
    socket.on('data', (d) => (reply += d.toString('latin1')));
    socket.on('error', (err) => finish(abort ? { aborted: true } : { error: err.message }));
    socket.on('close', () => {
      if (abort) return finish({ aborted: true });
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? NaN);
      finish(Number.isNaN(status) ? { error: `no status line: ${JSON.stringify(reply.slice(0, 80))}` } : { status, sha256: hash.digest('hex') });
    });
    socket.on('connect', async () => {
      const write = (buf) => (socket.write(buf) ? null : new Promise((r) => socket.once('drain', r)));
      await write(`${method} ${target} HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`);
      if (method === 'POST') await write(head);
      for (let n = 0; n * CHUNK < size; n++) {
        if (done) return;
        if (abort && n * CHUNK >= size / 2) {
          await sleep(20);
          socket.destroy();
          return finish({ aborted: true });
        }
        const chunk = Buffer.from(seed);
        chunk.writeUInt32BE(n, 0);
        const part = chunk.subarray(0, Math.min(CHUNK, size - n * CHUNK));
        hash.update(part);
        await write(part);
      }
      if (method === 'POST') await write(tail);
    });
  });
}

