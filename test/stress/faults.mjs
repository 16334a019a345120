// Categories 7–12 of the stress suite: faulty scripts, vanishing clients,
// slow clients, overload, shutdown and the soak. Real scripts (sh, python3),
// real sockets; every child a script forks carries the script's path in its
// argv so /proc can tell whether anything outlived its request.
import { randomBytes } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Conn,
  bigPost,
  HELLO,
  SLEEPER,
  fetchOnce,
  get,
  listDir,
  makeSite,
  openSocket,
  parseAll,
  pidsMatching,
  prng,
  py,
  runCategory,
  serverEnv,
  settle,
  sh,
  sleep,
  startProbe,
  startStressServer,
  steadyFds,
  waitFor,
  warmUp,
  zombiesOf,
} from './lib.mjs';

const FULL = 'full';
/** Growth of the server's RSS accepted while clients stall on or read floods (and over the second half of the soak). */
// Without backpressure one second of `yes` would add about a gigabyte; Node's own buffers and GC
// lag account for a few tens of MiB.
const RSS_GROWTH_BOUND_KB = 128 * 1024;

/** Wait (bounded) until no process carries `marker`; fail with what remains. */
async function expectGone(cat, marker, ms, what) {
  const gone = await waitFor(async () => (await pidsMatching(marker)).length === 0, ms, 100);
  if (!gone) {
    const left = await pidsMatching(marker);
    cat.leftover = Math.max(cat.leftover, left.length);
    cat.fail(`${what}: ${left.length} process(es) of ${marker.slice(marker.lastIndexOf('/') + 1)} still running ${ms} ms later`);
  }
  return gone;
}

/** Sample a server's RSS every 100 ms until stop(); resolves the largest value (KiB). */
function sampleRss(srv) {
  let max = srv.info()?.rssKb ?? 0;
  const timer = setInterval(() => (max = Math.max(max, srv.info()?.rssKb ?? 0)), 100);
  return { stop: () => (clearInterval(timer), Math.max(max, srv.info()?.rssKb ?? 0)) };
}

// ================================================================ 7. faulty scripts

export function faultyScripts(scale) {
  const T = scale === FULL ? 2 : 1; // --script-timeout (s); SIGKILL follows SIGTERM 2 s later (run.ts KILL_GRACE_MS)
  return runCategory(7, 'faulty scripts', scale === FULL ? 150000 : 40000, async (cat) => {
    const site = makeSite(cat, 'faults', {
      www: {
        'cgi-bin/hang.sh': sh(`${SLEEPER} &\nwait`),
        'cgi-bin/stubborn.sh': sh(`trap '' TERM\n/usr/bin/python3 -c 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(1000)' "$0" &\nwait`),
        'cgi-bin/headflood.sh': sh(`exec /usr/bin/python3 -c 'import sys\nwhile True: sys.stdout.write("X-Flood: yes\\n")' "$0"`),
        'cgi-bin/headline.sh': sh(`exec /usr/bin/python3 -c 'import sys\nwhile True: sys.stdout.write("X" * 65536)' "$0"`),
        'cgi-bin/fork-keep.sh': sh(`printf 'Content-Type: text/plain\\n\\nparent done\\n'\n${SLEEPER} &\nexit 0`),
        'cgi-bin/fork-outlive.sh': sh(`printf 'Content-Type: text/plain\\n\\nparent done\\n'\n( ${SLEEPER} >/dev/null 2>&1 & )\nexit 0`),
        'cgi-bin/mid-cl.sh': sh(`printf 'Content-Type: text/plain\\nContent-Length: 100000\\n\\n'\nhead -c 1000 /dev/zero\nexit 3`),
        'cgi-bin/mid-kill.sh': sh(`printf 'Content-Type: text/plain\\n\\npartial body\\n'\nkill -9 $$`),
        'cgi-bin/close-early.sh': sh(`printf 'Content-Type: text/plain\\n\\nearly\\n'\nexec >&-\nexec ${SLEEPER}`),
        'cgi-bin/close-nohead.sh': sh(`exec >&-\nexec ${SLEEPER}`),
        'cgi-bin/noread.sh': sh(`printf 'Content-Type: text/plain\\n\\nnoread ok\\n'`),
        'cgi-bin/noread-hang.sh': sh(`exec ${SLEEPER}`),
        'cgi-bin/silent.sh': sh(`exit 0`),
        'cgi-bin/silent-fail.sh': sh(`exit 1`),
        // 100 MiB (32 in the fast subset) against a 64 KiB log share; run on the server with the long timeout, so
        // how fast a loaded machine pushes the flood through decides nothing.
        'cgi-bin/stderr-flood.sh': sh(`head -c ${scale === FULL ? 104857600 : 33554432} /dev/zero | tr '\\0' 'e' >&2\nprintf 'Content-Type: text/plain\\n\\nafter stderr\\n'`),
        'cgi-bin/flood.sh': sh(`printf 'Content-Type: application/octet-stream\\n\\n'\nexec yes "$0"`),
        'cgi-bin/flood-py.sh': sh(`printf 'Content-Type: application/octet-stream\\n\\n'\nexec /usr/bin/python3 -c 'import sys\nb = b"y" * 65536\nwhile True: sys.stdout.buffer.write(b)' "$0"`),
      },
    });
    const path = (name) => join(site.scripts, name);
    const { env, tmp } = serverEnv(cat);
    const a = await startStressServer(cat, site.root, ['--script-timeout', String(T)], { env });
    const fdsBefore = await warmUp(a, ['/cgi-bin/noread.sh', get('/cgi-bin/noread.sh', { method: 'POST', body: 'x' })]);
    const probe = startProbe(cat, a.port, { expectBody: HELLO, intervalMs: 100 });
    const GONE_MS = (T + 2) * 1000 + 5000;
    const reps = scale === FULL ? 3 : 1;

    const expectStatus = async (name, statuses, { data, check, srv = a } = {}) => {
      cat.sent++;
      const r = await fetchOnce(srv.port, data ?? get(`/cgi-bin/${name}`), { timeout: (T + 2) * 1000 + 15000 });
      if (r.error && !r.truncated) cat.fail(`${name}: ${r.error}`);
      else {
        cat.tally(r.status);
        cat.check(statuses.includes(r.status), () => `${name}: status ${r.status}, expected ${statuses.join('/')}`);
        if (check) check(r);
      }
      await expectGone(cat, path(name), GONE_MS, name);
      return r;
    };
    for (let rep = 0; rep < reps && !cat.saturated; rep++) {
      await Promise.all([
        expectStatus('hang.sh', [504]),
        expectStatus('stubborn.sh', [504]),
        expectStatus('headflood.sh', [502]),
        expectStatus('headline.sh', [502]),
        expectStatus('close-nohead.sh', [502, 504]),
        expectStatus('silent.sh', [502]),
        expectStatus('silent-fail.sh', [500, 502]),
      ]);
      await Promise.all([
        expectStatus('fork-keep.sh', [200], { check: (r) => cat.check(r.body?.toString() === 'parent done\n', 'fork-keep.sh: wrong body') }),
        expectStatus('fork-outlive.sh', [200], { check: (r) => cat.check(r.body?.toString() === 'parent done\n', 'fork-outlive.sh: wrong body') }),
        // A declared length the script never honours: the connection is cut, never a short "complete" answer.
        expectStatus('mid-cl.sh', [200], { check: (r) => cat.check(r.truncated === true, 'mid-cl.sh: a short body was passed off as complete') }),
        expectStatus('mid-kill.sh', [200], { check: (r) => cat.check((r.body ?? Buffer.alloc(0)).toString().startsWith('partial body'), 'mid-kill.sh: body') }),
        expectStatus('close-early.sh', [200], { check: (r) => cat.check(r.body?.toString() === 'early\n', 'close-early.sh: wrong body') }),
      ]);
      // A large body the script never reads: answered, and the connection still usable.
      const conn = await Conn.open(a.port);
      try {
        cat.sent++;
        const r = await conn.request(bigPost('/cgi-bin/noread.sh', 16, 0x61), { timeout: 30000 });
        if (r.error) cat.fail(`noread.sh with 16 MiB: ${r.error}`);
        else {
          cat.tally(r.status);
          cat.check(r.status === 200 && r.body.toString() === 'noread ok\n', `noread.sh with 16 MiB: ${r.status}`);
          if (conn.usable) {
            cat.sent++;
            const next = await conn.request(get('/hello.txt'));
            if (next.error) cat.fail(`GET after noread.sh on the same connection: ${next.error}`);
            else cat.tally(next.status), cat.check(next.status === 200, `GET after noread.sh: ${next.status}`);
          }
        }
      } finally {
        conn.destroy();
      }
      // The same, chunked: spooled to a temporary file first, which must be gone afterwards.
      await expectStatus('noread.sh', [200], { data: bigPost('/cgi-bin/noread.sh', 8, 0x62, { chunked: true }) });
      // Never reads and never exits: the upload stalls on backpressure, the timeout answers.
      await expectStatus('noread-hang.sh', [504], { data: bigPost('/cgi-bin/noread-hang.sh', 64, 0x63) });
    }
    await waitFor(() => listDir(tmp).length === 0, 5000);
    cat.check(listDir(tmp).length === 0, () => `request-body spool files left in TMPDIR: ${listDir(tmp).join(', ')}`);
    await probe.stop();
    await settle(cat, a, { markers: [site.marker], fdsBefore });

    // Floods on a server whose timeout will not interfere.
    const b = await startStressServer(cat, site.root, ['--script-timeout', '120'], { env });
    const bFds = await warmUp(b, ['/cgi-bin/noread.sh']);
    // Tens of MiB on stderr while a probe's requests go on: the answer comes whole after it.
    const bProbe = startProbe(cat, b.port, { expectBody: HELLO, intervalMs: 100 });
    for (let rep = 0; rep < reps; rep++) {
      await expectStatus('stderr-flood.sh', [200], { srv: b, check: (r) => cat.check(r.body?.toString() === 'after stderr\n', 'stderr-flood.sh: wrong body') });
    }
    await bProbe.stop();
    const rssBefore = b.info().rssKb;
    const rss = sampleRss(b);
    const stalled = scale === FULL ? 6 : 2;
    const stallMs = scale === FULL ? 4000 : 1500;
    const sockets = [];
    try {
      for (let i = 0; i < stalled; i++) {
        const s = await openSocket(b.port);
        s.on('error', () => {});
        s.pause(); // never read: the server must stop reading the script instead of buffering
        s.write(get(i % 3 === 2 ? '/cgi-bin/flood-py.sh' : '/cgi-bin/flood.sh'));
        sockets.push(s);
        cat.sent++;
      }
      await sleep(stallMs);
      const during = rss.stop();
      cat.note(`${stalled} clients stalled ${stallMs} ms on endless stdout: server RSS ${Math.round(rssBefore / 1024)} → max ${Math.round(during / 1024)} MiB`);
      cat.check(during - rssBefore < RSS_GROWTH_BOUND_KB, () => `stalled floods: RSS grew by ${Math.round((during - rssBefore) / 1024)} MiB`);
      cat.check((await pidsMatching(path('flood.sh'))).length > 0, 'flood.sh ended while its client stalled (expected it blocked on backpressure)');
    } finally {
      for (const s of sockets) s.destroy();
    }
    cat.answered += stalled;
    await expectGone(cat, path('flood.sh'), 10000, 'flood.sh after its clients closed');
    await expectGone(cat, path('flood-py.sh'), 10000, 'flood-py.sh after its client closed');

    // A client that does read: gigabytes pass through at constant memory, and closing kills the script.
    const readBytes = scale === FULL ? 1024 ** 3 : 64 * 1024 ** 2;
    const rss2 = sampleRss(b);
    const s = await openSocket(b.port);
    cat.sent++;
    const t0 = performance.now();
    const got = await new Promise((resolve) => {
      let n = 0;
      let head = '';
      const timer = setTimeout(() => resolve({ n, head, timeout: true }), 120000);
      s.on('data', (d) => {
        if (head.length < 12) head += d.subarray(0, 12).toString('latin1');
        n += d.length;
        if (n >= readBytes) {
          clearTimeout(timer);
          resolve({ n, head });
        }
      });
      s.on('close', () => (clearTimeout(timer), resolve({ n, head, closed: true })));
      s.on('error', () => {});
      s.write(get('/cgi-bin/flood.sh'));
    });
    s.destroy();
    const secs = (performance.now() - t0) / 1000;
    const peak = rss2.stop();
    cat.tally(Number(got.head.slice(9, 12)) || 'none');
    cat.check(got.head.startsWith('HTTP/1.1 200'), `flood.sh read: ${JSON.stringify(got.head)}`);
    cat.check(got.n >= readBytes, () => `flood.sh read: only ${got.n} bytes (${got.timeout ? 'timeout' : 'closed'})`);
    cat.note(`read ${Math.round(got.n / 1024 ** 2)} MiB of script output in ${secs.toFixed(1)} s (${Math.round(got.n / 1024 ** 2 / secs)} MiB/s); RSS max ${Math.round(peak / 1024)} MiB`);
    cat.check(peak - rssBefore < RSS_GROWTH_BOUND_KB, () => `reading a flood: RSS grew by ${Math.round((peak - rssBefore) / 1024)} MiB`);
    await expectGone(cat, path('flood.sh'), 10000, 'flood.sh after its reader closed');
    await settle(cat, b, { markers: [site.marker], fdsBefore: bFds });
  });
}

// ================================================================ 8. vanishing clients

export function vanishingClients(scale) {
  const N = scale === FULL ? 400 : 40;
  return runCategory(8, 'vanishing clients', scale === FULL ? 120000 : 60000, async (cat) => {
    const site = makeSite(cat, 'vanish', {
      www: {
        'big.bin': '',
        'cgi-bin/echo.py': py(`import os, sys\nn = int(os.environ.get('CONTENT_LENGTH') or 0)\nleft = n\nwhile left > 0:\n    d = sys.stdin.buffer.read1(min(65536, left))\n    if not d: break\n    left -= len(d)\nsys.stdout.write('Content-Type: text/plain\\n\\nGOT %d\\n' % (n - left))`),
        'cgi-bin/stream.sh': sh(`printf 'Content-Type: text/plain\\n\\n'\nexec /usr/bin/python3 -u -c 'import time\nwhile True:\n    print("tick", flush=True)\n    time.sleep(0.05)' "$0"`),
        'cgi-bin/slowhead.sh': sh(`/usr/bin/python3 -c 'import time; time.sleep(0.5)' "$0"\nprintf 'Content-Type: text/plain\\n\\nlate\\n'`),
      },
    });
    // 32 MiB of zeros without filling a buffer in this process (that stalls the probes of other categories).
    truncateSync(join(site.root, 'big.bin'), 32 * 1024 * 1024);
    const { env, tmp } = serverEnv(cat);
    const srv = await startStressServer(cat, site.root, ['--script-timeout', '60'], { env });
    const port = srv.port;
    const fdsBefore = await warmUp(srv, ['/big.bin', '/cgi-bin/slowhead.sh', get('/cgi-bin/echo.py', { method: 'POST', body: 'x' })]);
    const probe = startProbe(cat, port, { expectBody: HELLO, intervalMs: 50 });
    const modes = {
      // Mid-request: part of a body, then gone.
      'body then FIN': async (s) => {
        s.write('POST /cgi-bin/echo.py HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n' + 'a'.repeat(1000));
        await sleep(80);
        s.destroy();
      },
      'body then RST': async (s) => {
        s.write('POST /cgi-bin/echo.py HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n' + 'a'.repeat(1000));
        await sleep(80);
        s.resetAndDestroy();
      },
      'half the headers': async (s) => {
        s.write('GET /cgi-bin/slowhead.sh HTTP/1.1\r\nHost: loc');
        await sleep(30);
        s.destroy();
      },
      'chunked spool then gone': async (s) => {
        s.write('POST /cgi-bin/echo.py HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n');
        for (let i = 0; i < 3; i++) s.write(`100000\r\n${'b'.repeat(0x100000)}\r\n`);
        await sleep(150);
        s.destroy();
      },
      // Mid-response: the first bytes, then gone.
      'streaming script': async (s) => {
        await firstData(s, () => s.write(get('/cgi-bin/stream.sh')));
        s.destroy();
      },
      'streaming script RST': async (s) => {
        await firstData(s, () => s.write(get('/cgi-bin/stream.sh')));
        s.resetAndDestroy();
      },
      'big file': async (s) => {
        await firstData(s, () => s.write(get('/big.bin')));
        s.destroy();
      },
      'big file RST': async (s) => {
        await firstData(s, () => s.write(get('/big.bin')));
        s.resetAndDestroy();
      },
      'before the headers': async (s) => {
        s.write(get('/cgi-bin/slowhead.sh'));
        await sleep(100);
        s.destroy();
      },
      // Gone before the script even starts: it must not be started for nobody, or be stopped at once.
      'request then FIN at once': async (s) => {
        s.write(get('/cgi-bin/stream.sh'));
        s.destroy();
      },
      'request then RST at once': async (s) => {
        s.write(get('/cgi-bin/stream.sh'));
        s.resetAndDestroy();
      },
      'partial body then FIN at once': async (s) => {
        s.write('POST /cgi-bin/echo.py HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\nabc');
        s.destroy();
      },
    };
    const names = Object.keys(modes);
    let i = 0;
    const worker = async () => {
      while (i < N && !cat.saturated) {
        const mode = names[i++ % names.length];
        cat.sent++;
        try {
          const s = await openSocket(port);
          s.on('error', () => {});
          await modes[mode](s);
          cat.count('vanished');
        } catch (err) {
          cat.fail(`${mode}: ${err.message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await probe.stop();
    await waitFor(() => listDir(tmp).length === 0, 5000);
    cat.check(listDir(tmp).length === 0, () => `spool files left in TMPDIR: ${listDir(tmp).join(', ')}`);
    await settle(cat, srv, { markers: [site.marker], fdsBefore });
    // The server still serves whole answers.
    cat.sent++;
    const r = await fetchOnce(port, get('/cgi-bin/echo.py', { method: 'POST', body: 'abc' }));
    if (r.error) cat.fail(`echo after the vanishing clients: ${r.error}`);
    else cat.tally(r.status), cat.check(r.status === 200 && r.body.toString() === 'GOT 3\n', `echo after: ${r.status}`);
  });
}

/** Run `send`, then resolve on the first bytes of the answer (bounded). */
function firstData(socket, send) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no first bytes within 5 s')), 5000);
    socket.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    send();
  });
}

// ================================================================ 9. slow clients

export function slowClients(scale) {
  const P = scale === FULL ? { conns: 200, attackMs: 12000, bodies: 20 } : { conns: 60, attackMs: 4000, bodies: 4 };
  return runCategory(9, 'slowloris & slow bodies', P.attackMs + 60000, async (cat) => {
    const HEADER_S = 2;
    const REQUEST_S = 3;
    const site = makeSite(cat, 'slow', {
      www: { 'cgi-bin/echo.py': py(`import os, sys\nn = int(os.environ.get('CONTENT_LENGTH') or 0)\nd = sys.stdin.buffer.read(n)\nsys.stdout.write('Content-Type: text/plain\\n\\nGOT %d\\n' % len(d))`) },
    });
    const srv = await startStressServer(cat, site.root, ['--header-timeout', String(HEADER_S), '--request-timeout', String(REQUEST_S)]);
    const port = srv.port;
    const fdsBefore = await warmUp(srv, [get('/cgi-bin/echo.py', { method: 'POST', body: 'x' })]);
    const probe = startProbe(cat, port, { expectBody: HELLO, intervalMs: 20 });
    const end = Date.now() + P.attackMs;
    // A connection must be cut well within this (timeout + Node's 1 s check interval + slack for a loaded machine).
    const CUT_MS = REQUEST_S * 1000 + 7000;
    const lifetimes = [];
    let cut408 = 0;
    let opened = 0;
    // Slowloris: a request line, then one header byte every 200 ms, for ever; reconnect when cut.
    const loris = async () => {
      while (Date.now() < end && opened < P.conns * 20 && !cat.saturated) {
        opened++;
        cat.sent++;
        const started = Date.now();
        const s = await openSocket(port).catch(() => null);
        if (!s) {
          cat.fail('slowloris: connect failed');
          await sleep(100);
          continue;
        }
        const reply = await new Promise((resolve) => {
          const chunks = [];
          let timer;
          const stop = (why) => {
            clearInterval(timer);
            s.destroy();
            resolve({ buf: Buffer.concat(chunks), why });
          };
          s.on('data', (d) => chunks.push(d));
          s.on('close', () => stop('closed'));
          s.on('error', () => stop('closed'));
          s.write('GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
          timer = setInterval(() => {
            if (Date.now() - started > CUT_MS) stop('never cut');
            else if (Date.now() > end + CUT_MS) stop('attack over');
            else s.write('a');
          }, 200);
        });
        const ms = Date.now() - started;
        if (reply.why === 'attack over') break;
        lifetimes.push(ms);
        if (!cat.check(reply.why === 'closed', () => `slowloris connection not cut within ${CUT_MS} ms`)) continue;
        const [r] = parseAll(reply.buf);
        if (!r || r.error) cat.fail(`slowloris: cut without a well-formed answer (${r?.error ?? 'nothing'})`);
        else {
          cat.tally(r.status);
          if (cat.check(r.status === 408, `slowloris answered ${r.status}`)) cut408++;
        }
      }
    };
    // Slow bodies: complete headers, then 10 bytes every 200 ms of a 100 kB body.
    const slowBody = async () => {
      cat.sent++;
      const started = Date.now();
      const s = await openSocket(port);
      const reply = await new Promise((resolve) => {
        const chunks = [];
        let timer;
        const stop = (why) => {
          clearInterval(timer);
          s.destroy();
          resolve({ buf: Buffer.concat(chunks), why });
        };
        s.on('data', (d) => chunks.push(d));
        s.on('close', () => stop('closed'));
        s.on('error', () => stop('closed'));
        s.write('POST /cgi-bin/echo.py HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n');
        timer = setInterval(() => (Date.now() - started > CUT_MS ? stop('never cut') : s.write('0123456789')), 200);
      });
      if (!cat.check(reply.why === 'closed', `slow body not cut within ${CUT_MS} ms`)) return;
      const [r] = parseAll(reply.buf);
      if (!r || r.error) cat.fail(`slow body: cut without a well-formed answer (${r?.error ?? 'nothing'})`);
      else cat.tally(r.status), cat.check(r.status === 408, `slow body answered ${r.status}`);
      lifetimes.push(Date.now() - started);
    };
    await Promise.all([...Array.from({ length: P.conns }, loris), ...Array.from({ length: P.bodies }, slowBody)]);
    await probe.stop();
    cat.note(`${opened} slowloris connections (${P.conns} held at a time for ${P.attackMs} ms), ${cut408} cut with 408; connection lifetime max ${Math.max(...lifetimes)} ms (header timeout ${HEADER_S} s, request timeout ${REQUEST_S} s)`);
    await settle(cat, srv, { markers: [site.marker], fdsBefore });
  });
}

// ================================================================ 10. overload

export function overload(scale) {
  const P = scale === FULL ? { concurrent: 500, waves: 2 } : { concurrent: 100, waves: 1 };
  return runCategory(10, 'overload (--max-scripts 4)', scale === FULL ? 120000 : 40000, async (cat) => {
    const MAX = 4;
    const site = makeSite(cat, 'overload', {});
    // Each run records its start and end (nanoseconds) before it exits; the server frees a slot
    // only after the exit, so overlapping intervals are scripts that really ran at once.
    const runs = join(site.base, 'runs.log');
    writeFileSync(join(site.scripts, 'work.sh'), `#!/bin/sh\nprintf 'S %s\\n' "$(date +%s%N)" >> ${runs}\n/usr/bin/python3 -c 'import time; time.sleep(0.1)' "$0"\nprintf 'E %s\\n' "$(date +%s%N)" >> ${runs}\nprintf 'Content-Type: text/plain\\n\\nworked\\n'\n`, { mode: 0o755 });
    const srv = await startStressServer(cat, site.root, ['--max-scripts', String(MAX)]);
    const port = srv.port;
    const fdsBefore = await warmUp(srv, ['/cgi-bin/work.sh']);
    const probe = startProbe(cat, port, { expectBody: HELLO, intervalMs: 20 });
    let ok = 0;
    let busy = 0;
    try {
      for (let wave = 0; wave < P.waves && !cat.saturated; wave++) {
        const results = await Promise.all(
          Array.from({ length: P.concurrent }, async () => {
            cat.sent++;
            return fetchOnce(port, get('/cgi-bin/work.sh'), { timeout: 60000 });
          }),
        );
        for (const r of results) {
          if (r.error) {
            cat.fail(`script request: ${r.error}`);
            continue;
          }
          cat.tally(r.status);
          if (r.status === 200) {
            ok++;
            cat.check(r.body.toString() === 'worked\n', 'a 200 with the wrong body');
          } else if (r.status === 503) {
            busy++;
            cat.check(/^\d+$/.test(r.headers['retry-after']?.[0] ?? ''), '503 without Retry-After');
          } else cat.fail(`script request answered ${r.status}`);
        }
      }
    } finally {
      await probe.stop();
    }
    const events = readFileSync(runs, 'latin1').trim().split('\n').map((l) => [l[0], BigInt(l.slice(2))]);
    events.sort((a, b) => (a[1] === b[1] ? (a[0] === 'E' ? -1 : 1) : a[1] < b[1] ? -1 : 1));
    let running = 0;
    let maxRunning = 0;
    for (const [kind] of events) maxRunning = Math.max(maxRunning, (running += kind === 'S' ? 1 : -1));
    cat.check(maxRunning <= MAX, () => `${maxRunning} scripts ran at once with --max-scripts ${MAX}`);
    cat.check(ok > 0, 'no script request succeeded');
    cat.note(`${ok} × 200, ${busy} × 503; at most ${maxRunning} scripts at once`);
    await settle(cat, srv, { markers: [site.marker], fdsBefore });
  });
}

// ================================================================ 11. shutdown

export function shutdown(scale) {
  const G = scale === FULL ? 3 : 1.5; // --shutdown-grace for the expiry case (s)
  return runCategory(11, 'graceful shutdown', scale === FULL ? 90000 : 35000, async (cat) => {
    const site = makeSite(cat, 'shutdown', {
      www: {
        'cgi-bin/slow-ok.sh': sh(`/usr/bin/python3 -c 'import time; time.sleep(1)' "$0"\nprintf 'Content-Type: text/plain\\n\\ndone\\n'`),
        'cgi-bin/long.sh': sh(`${SLEEPER} &\nwait`),
      },
    });
    const slowOk = join(site.scripts, 'slow-ok.sh');
    const long = join(site.scripts, 'long.sh');
    const exitWithin = async (srv, ms, what) => {
      const t0 = Date.now();
      const res = await Promise.race([srv.exited, sleep(ms).then(() => null)]);
      if (!res) {
        cat.fail(`${what}: the server had not exited ${ms} ms after the signal`);
        return null;
      }
      cat.check(res.code === 0, () => `${what}: exit code ${res.code} signal ${res.signal}`);
      return Date.now() - t0;
    };
    const inflight = (port, path, n) => Array.from({ length: n }, () => (cat.sent++, fetchOnce(port, get(path), { timeout: 30000 })));
    const timings = [];

    // A: scripts in flight finish within the grace; idle keep-alive connections do not hold the exit; new connections are refused.
    {
      const srv = await startStressServer(cat, site.root, ['--shutdown-grace', '10']);
      await warmUp(srv, []);
      cat.sample(srv);
      const idle = await Conn.open(srv.port);
      cat.sent++;
      const warm = await idle.request(get('/hello.txt'));
      if (!warm.error) cat.tally(warm.status);
      const pending = inflight(srv.port, '/cgi-bin/slow-ok.sh', 3);
      await waitFor(async () => (await pidsMatching(slowOk)).length >= 3, 5000);
      cat.sample(srv);
      srv.child.kill('SIGTERM');
      await sleep(200);
      const refused = await openSocket(srv.port, 2000).then((s) => (s.destroy(), false), () => true);
      cat.check(refused, 'a new connection was accepted after SIGTERM');
      const results = await Promise.all(pending);
      for (const r of results) {
        if (r.error) cat.fail(`in-flight script during shutdown: ${r.error}`);
        else cat.tally(r.status), cat.check(r.status === 200 && r.body.toString() === 'done\n', `in-flight script: ${r.status}`);
      }
      const ms = await exitWithin(srv, 10000 + 5000, 'SIGTERM with scripts in flight');
      timings.push(`finish-in-grace exit ${ms} ms`);
      idle.destroy();
      await expectGone(cat, slowOk, 3000, 'after a graceful exit');
    }
    // B: scripts that outlast the grace are killed when it ends; the exit is still 0.
    {
      const srv = await startStressServer(cat, site.root, ['--shutdown-grace', String(G)]);
      await warmUp(srv, []);
      const pending = inflight(srv.port, '/cgi-bin/long.sh', 3);
      await waitFor(async () => (await pidsMatching(long)).length >= 3, 5000);
      cat.sample(srv);
      srv.child.kill('SIGINT');
      const ms = await exitWithin(srv, G * 1000 + 5000, `SIGINT with scripts outlasting a ${G} s grace`);
      timings.push(`grace-expiry exit ${ms} ms (grace ${G * 1000})`);
      const results = await Promise.all(pending);
      for (const r of results) cat.check(Boolean(r.error) || r.status >= 500, () => `a script killed at shutdown answered ${r.status}`);
      cat.answered += results.length;
      await expectGone(cat, long, 3000, 'after the grace expired');
    }
    // C: a second signal exits at once, killing the scripts.
    {
      const srv = await startStressServer(cat, site.root, ['--shutdown-grace', '30']);
      await warmUp(srv, []);
      const pending = inflight(srv.port, '/cgi-bin/long.sh', 3);
      await waitFor(async () => (await pidsMatching(long)).length >= 3, 5000);
      cat.sample(srv);
      srv.child.kill('SIGTERM');
      await sleep(300);
      cat.check(srv.alive(), 'the first SIGTERM did not wait for the scripts (grace 30 s)');
      srv.child.kill('SIGTERM');
      const ms = await exitWithin(srv, 5000, 'second signal');
      timings.push(`second-signal exit ${ms} ms`);
      await Promise.all(pending);
      cat.answered += 3;
      await expectGone(cat, long, 3000, 'after the second signal');
    }
    cat.note(timings.join('; '));
  });
}

// ================================================================ 12. soak

export function soak(scale) {
  const N = scale === FULL ? 10000 : 600;
  return runCategory(12, 'soak (mixed)', scale === FULL ? 150000 : 40000, async (cat) => {
    const site = makeSite(cat, 'soak', {
      www: {
        'small.txt': 'small\n',
        'mid.bin': randomBytes(100 * 1024),
        'big.bin': randomBytes(1024 * 1024),
        'dir/a.txt': 'a\n',
        'dir/b.txt': 'b\n',
        'dir/sub/c.txt': 'c\n',
        'cgi-bin/ok.sh': sh(`printf 'Content-Type: text/plain\\n\\nok %s\\n' "$QUERY_STRING"`),
        'cgi-bin/ok.py': py(`import os\nprint('Content-Type: text/plain\\n\\nok ' + os.environ['QUERY_STRING'])`),
        'cgi-bin/bad.sh': sh(`printf 'no headers at all\\n'`),
        'cgi-bin/slow.sh': sh(`/usr/bin/python3 -c 'import time; time.sleep(0.3)' "$0"\nprintf 'Content-Type: text/plain\\n\\nslow\\n'`),
        'cgi-bin/echo.sh': sh(`printf 'Content-Type: text/plain\\n\\n'\nexec /usr/bin/python3 -c 'import shutil, sys; shutil.copyfileobj(sys.stdin.buffer, sys.stdout.buffer)' "$0"`),
      },
    });
    const { env, tmp } = serverEnv(cat);
    const srv = await startStressServer(cat, site.root, [], { env });
    const port = srv.port;
    const etag = (await fetchOnce(port, get('/small.txt'))).headers?.etag?.[0] ?? '"x"';
    const fdsBefore = await warmUp(srv, ['/mid.bin', '/big.bin', '/dir/', '/cgi-bin/ok.sh', '/cgi-bin/ok.py', '/cgi-bin/bad.sh']);
    const rssStart = srv.info().rssKb;
    const rnd = prng(12);
    // [weight, name, request bytes, head?, expected status, body check]
    const normal = [
      [14, 'small', () => get('/small.txt'), false, 200, (b) => b.toString() === 'small\n'],
      [5, 'mid', () => get('/mid.bin'), false, 200, (b) => b.length === 100 * 1024],
      [3, 'big', () => get('/big.bin'), false, 200, (b) => b.length === 1024 * 1024],
      [3, 'head', () => get('/big.bin', { method: 'HEAD' }), true, 200],
      [3, '304', () => get('/small.txt', { headers: { 'If-None-Match': etag } }), false, 304],
      [3, 'range', () => get('/big.bin', { headers: { Range: 'bytes=100-199' } }), false, 206, (b) => b.length === 100],
      [6, 'listing', () => get('/dir/'), false, 200, (b) => b.toString().includes('a.txt')],
      [3, 'listing json', () => get('/dir/sub/', { headers: { Accept: 'application/json' } }), false, 200, (b) => b.toString().includes('c.txt')],
      [10, 'script', () => get('/cgi-bin/ok.sh?q=1'), false, 200, (b) => b.toString() === 'ok q=1\n'],
      [2, 'python script', () => get('/cgi-bin/ok.py?q=2'), false, 200, (b) => b.toString() === 'ok q=2\n'],
      [3, 'post echo', () => get('/cgi-bin/echo.sh', { method: 'POST', body: 'x'.repeat(5000) }), false, 200, (b) => b.length === 5000],
      [5, '404', () => get('/missing.txt'), false, 404],
      [4, '400 ..', () => get('/%2e%2e/etc/passwd'), false, 400],
      [2, '405', () => get('/small.txt', { method: 'POST', body: 'x' }), false, 405],
      [2, '501', () => get('/small.txt', { method: 'FOO' }), false, 501],
      [1, '414', () => get('/' + 'a'.repeat(9000)), false, 414],
      [2, '403 script dir', () => get('/cgi-bin/'), false, 403],
      [2, '502 bad script', () => get('/cgi-bin/bad.sh'), false, 502],
      [2, '301', () => get('/dir'), false, 301],
    ];
    const aborted = [
      [2, 'partial headers', async (s) => s.write('GET /small.txt HTTP/1.1\r\nHo')],
      [2, 'big file cut', async (s) => firstData(s, () => s.write(get('/big.bin')))],
      [2, 'slow script cut', async (s) => (s.write(get('/cgi-bin/slow.sh')), sleep(50))],
      [1, 'body cut', async (s) => s.write('POST /cgi-bin/echo.sh HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\nabc')],
      [1, 'chunked cut', async (s) => s.write('POST /cgi-bin/echo.sh HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc')],
    ];
    const table = [...normal.map((n) => ['normal', ...n]), ...aborted.map((a) => ['aborted', ...a])];
    const total = table.reduce((n, t) => n + t[1], 0);
    const pick = () => {
      let x = rnd.int(total);
      for (const t of table) if ((x -= t[1]) < 0) return t;
      return table[0];
    };
    const plan = Array.from({ length: N }, pick);
    let next = 0;
    let rssMid = null;
    const end = Date.now() + (scale === FULL ? 120000 : 25000);
    const worker = async () => {
      let conn = null;
      try {
        while (next < plan.length && Date.now() < end && !cat.saturated) {
          const i = next++;
          if (i === Math.floor(plan.length / 2)) rssMid = srv.info().rssKb;
          const [kind, , name, build, head, status, check] = plan[i];
          cat.sent++;
          if (kind === 'aborted') {
            try {
              const s = await openSocket(port);
              s.on('error', () => {});
              await build(s);
              if (rnd.next() < 0.5) s.resetAndDestroy();
              else s.destroy();
              cat.count('vanished');
            } catch (err) {
              cat.fail(`${name}: ${err.message}`);
            }
            continue;
          }
          if (!conn?.usable) {
            conn?.destroy();
            conn = await Conn.open(port);
          }
          const r = await conn.request(build(), { head, timeout: 30000 });
          if (r.error) {
            cat.fail(`${name}: ${r.error}`);
            continue;
          }
          cat.tally(r.status);
          if (cat.check(r.status === status, () => `${name}: ${r.status}, expected ${status}`) && check) cat.check(check(r.body), () => `${name}: wrong body`);
        }
      } finally {
        conn?.destroy();
      }
    };
    const probe = startProbe(cat, port, { expectBody: HELLO, intervalMs: 100 });
    await Promise.all(Array.from({ length: 8 }, worker));
    await probe.stop();
    cat.check(next >= plan.length || cat.saturated, () => `only ${next} of ${plan.length} requests within the time budget`);
    await settle(cat, srv, { markers: [site.marker], fdsBefore });
    await waitFor(() => listDir(tmp).length === 0, 5000);
    cat.check(listDir(tmp).length === 0, () => `spool files left: ${listDir(tmp).join(', ')}`);
    const rssEnd = srv.info().rssKb;
    cat.note(`RSS ${Math.round(rssStart / 1024)} MiB after warm-up, ${rssMid === null ? '-' : Math.round(rssMid / 1024)} at half-way, ${Math.round(rssEnd / 1024)} at the end`);
    // Stable memory: the second half may not grow like a leak (generous: GC timing varies).
    if (rssMid !== null) cat.check(rssEnd - rssMid < RSS_GROWTH_BOUND_KB, () => `RSS grew ${Math.round((rssEnd - rssMid) / 1024)} MiB over the second half of the soak`);
    const zombies = zombiesOf(srv.pid);
    cat.check(zombies.length === 0, 'zombies after the soak');
    await steadyFds(srv);
  });
}
