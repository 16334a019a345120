// Issue 13: a script starts with the same signal mask and dispositions
// whichever way the server starts it (child_process.spawn, the spawn helper,
// a warm fork), and that state is a clean one even when the server itself was
// started by a parent that blocks every signal and ignores several, with
// stdin from /dev/null (as CI starts it). A script with signals blocked or
// ignored would not stop on --script-timeout's SIGTERM, and its traps and
// handlers would misbehave.
//
// The probes read their own state without forking first: dash blocks every
// signal while it forks and waits for a child, so a child that reads the
// shell's /proc/PID/status can catch that window. That race, in the probe of
// test/spawn-helper.test.mjs, was the "scripts start with every signal
// blocked" report of issue 13; the scripts' real state was always clean.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { CLI, FIXTURES, PYTHON, deadline, parentOf, request, rmSync, tempDir, waitFor, writeTree } from './helpers.mjs';

const HOSTILE_PARENT = path.join(FIXTURES, 'hostile-parent.py');
const SIGTERM = 15;
const SIGRT_IGNORED = 36; // SIGRTMIN + 2 on Linux/glibc, as hostile-parent.py ignores it

const SCRIPTS = {
  'cgi-bin/state.sh': {
    mode: 0o755,
    content: `#!/bin/sh
printf 'Content-Type: text/plain\\n\\n'
echo "ppid $PPID"
while read -r key value; do case $key in SigBlk:|SigIgn:|SigCgt:) echo "$key $value";; esac; done < /proc/$$/status
`,
  },
  'cgi-bin/state.py': {
    mode: 0o755,
    content: `#!${PYTHON}
import os, signal
names = {signal.SIG_DFL: 'default', signal.SIG_IGN: 'ignore', signal.default_int_handler: 'interrupt', None: 'not from python'}
lines = ['ppid %d' % os.getppid()]
with open('/proc/self/status') as f:
    lines += [' '.join(line.split()) for line in f if line.split(':')[0] in ('SigBlk', 'SigIgn', 'SigCgt')]
for sig in sorted(signal.valid_signals()):
    if sig not in (signal.SIGKILL, signal.SIGSTOP):
        lines.append('%d %s' % (sig, names.get(signal.getsignal(sig), 'python handler')))
print('Content-Type: text/plain\\n\\n' + '\\n'.join(lines))
`,
  },
};

/** How the server is told to start its scripts. */
const MODES = {
  spawn: ['--no-spawn-helper'],
  helper: [],
  warm: ['--warm-python', '--warm-interpreter', PYTHON, '--no-spawn-helper'],
};

/** Start the CLI (stdin from /dev/null), under the hostile parent or not; resolves once it listens. */
async function startServer(root, mode, hostile) {
  const args = [CLI, '-q', '--bind', '127.0.0.1', '--port', '0', '-d', root, ...MODES[mode]];
  const child = hostile
    ? spawn(PYTHON, [HOSTILE_PARENT, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const port = await deadline(
    new Promise((resolve, reject) => {
      child.stdout.on('data', () => {
        const m = /:(\d+)\/\n/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      exited.then(({ code }) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
    }),
    10000,
    `${mode} server start`,
  );
  return { child, port, exited, stderr: () => err };
}

/** The probe's report, and the pid of its parent process. */
async function probe(server, script) {
  const res = await request(server.port, `/cgi-bin/${script}`, { headers: { Host: 'localhost' } });
  assert.equal(res.status, 200, res.body.toString());
  const [first, ...rest] = res.body.toString().trim().split('\n');
  return { ppid: Number(first.replace('ppid ', '')), state: rest.join('\n') };
}

/**
 * The probe's report once it comes from the way `mode` starts scripts: the
 * server's own child for spawn; a child of a helper process of the server
 * (the spawn helper, or the warm fork server) otherwise, which start with the
 * first script or at start-up, so the first answers may come from spawn.
 */
async function probeVia(server, mode, script) {
  const pid = server.child.pid;
  const wanted = (ppid) => (mode === 'spawn' ? ppid === pid : ppid !== pid && parentOf(ppid) === pid);
  let last;
  const ok = await waitFor(async () => {
    last = await probe(server, script);
    return wanted(last.ppid);
  }, 10000, 100);
  assert.ok(ok, `${script} never started the ${mode} way (parent ${last?.ppid}, server ${pid})`);
  return last.state;
}

/** A mask or disposition field as a bit set: is signal `sig` in it? */
function has(state, field, sig) {
  const hex = new RegExp(`^${field}: ([0-9a-f]+)$`, 'm').exec(state)?.[1];
  assert.ok(hex, `${field} missing from ${state}`);
  return ((BigInt('0x' + hex) >> BigInt(sig - 1)) & 1n) === 1n;
}

for (const hostile of [false, true]) {
  describe(`script signal state, server started ${hostile ? 'by a parent that blocks every signal and ignores some' : 'normally'}, stdin /dev/null`, () => {
    let root;
    const servers = {};
    before(async () => {
      root = realpathSync(tempDir('scriptserve-signals-'));
      writeTree(root, SCRIPTS);
      for (const mode of Object.keys(MODES)) servers[mode] = await startServer(root, mode, hostile);
    });
    after(async () => {
      await Promise.all(Object.values(servers).map(async (server) => {
        if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
        await deadline(server.exited, 5000, 'server exit');
      }));
      rmSync(root, { recursive: true, force: true });
    });

    test('a shell script: nothing blocked, and the spawn helper gives exactly what child_process.spawn gives', async () => {
      const spawned = await probeVia(servers.spawn, 'spawn', 'state.sh');
      const helped = await probeVia(servers.helper, 'helper', 'state.sh');
      assert.match(spawned, /^SigBlk: 0+$/m);
      assert.equal(has(spawned, 'SigIgn', SIGTERM), false, 'SIGTERM must not be ignored');
      // A real-time signal its parent ignored reaches child_process.spawn's children (libuv
      // resets only 1-31); the helper must pass it on the same way, not make it differ.
      assert.equal(has(spawned, 'SigIgn', SIGRT_IGNORED), hostile);
      assert.equal(helped, spawned);
    });

    test('a Python script: the same state started with spawn, from the helper, and forked warm', async () => {
      const spawned = await probeVia(servers.spawn, 'spawn', 'state.py');
      const helped = await probeVia(servers.helper, 'helper', 'state.py');
      const warm = await probeVia(servers.warm, 'warm', 'state.py');
      assert.match(spawned, /^SigBlk: 0+$/m);
      assert.match(spawned, new RegExp(`^${SIGTERM} default$`, 'm'));
      assert.match(spawned, /^2 interrupt$/m, 'SIGINT raises KeyboardInterrupt, as in any python3');
      assert.equal(helped, spawned);
      assert.equal(warm, spawned);
    });

    test('SIGTERM still stops the server gracefully', async () => {
      for (const server of Object.values(servers)) {
        server.child.kill('SIGTERM');
        assert.deepEqual(await deadline(server.exited, 10000, 'exit after SIGTERM'), { code: 0, signal: null }, server.stderr());
      }
    });
  });
}
