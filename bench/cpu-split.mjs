// Where the CPU of one script request goes: run scriptserve pinned to one
// core, load it with wrk from the other, and split the CPU time and minor
// page faults per request between the Node process, the warm fork server
// or the spawn helper (its own, and its reaped children's) and, with
// --no-spawn-helper, the scripts the server spawned itself.
//
//   node bench/cpu-split.mjs [--warm] [--script hello.py|hello.sh|echo.py|route] [--conns 10] [--seconds 4] [--runs 2] [-- extra scriptserve flags]
//
// `--script route` measures the command route of `npm run bench`
// (--route 'POST /hello=/bin/sh route.sh'), the same /bin/sh work as hello.sh.
//
// Prints one line per measured run. Needs wrk and taskset; loopback only;
// the server on core 0, wrk on core 1.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuPerRequest, cpuSnapshot } from './lib/cpu.mjs';
import { createFixtures, PYTHON, BODY_16, BODY_64K } from './lib/fixtures.mjs';
import { freePort, killAllSync, waitReady, startGroup, stopGroup, pinned, which } from './lib/proc.mjs';
import { SCRIPTSERVE_CLI, SCRIPTSERVE_HELPER } from './lib/servers.mjs';

const args = process.argv.slice(2);
const rest = args.includes('--') ? args.slice(args.indexOf('--') + 1) : [];
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const warm = args.includes('--warm');
const script = opt('--script', 'hello.py');
const seconds = Number(opt('--seconds', '4'));
const runs = Number(opt('--runs', '2'));
const conns = Number(opt('--conns', '10'));
const route = script === 'route';

if (!which('wrk')) throw new Error('cpu-split needs wrk (apt-get install wrk)');
const fx = createFixtures({ bigMiB: 0 });
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAllSync();
    rmSync(fx.work, { recursive: true, force: true });
    process.exit(130);
  });
}
const body = script === 'echo.py' ? BODY_64K : BODY_16;
const lua = join(fx.work, 'split.lua');
writeFileSync(lua, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body.toString('latin1'))}\n`);
const port = await freePort();
const argv = [process.execPath, SCRIPTSERVE_CLI, '-q', '-b', '127.0.0.1', '-p', String(port), '-d', fx.root, ...(warm ? ['--warm-python', '--warm-interpreter', PYTHON] : []), ...(route ? ['--route', 'POST /hello=/bin/sh route.sh'] : []), ...rest];
const server = startGroup(pinned(0, argv), { cwd: fx.root });
try {
  await waitReady(port, server);
  const url = route ? `http://127.0.0.1:${port}/hello` : `http://127.0.0.1:${port}/cgi-bin/${script}`;
  const wrk = (s) => spawnSync('taskset', ['-c', '1', 'wrk', '-t1', `-c${conns}`, `-d${s}s`, '-s', lua, url], { encoding: 'utf8' }).stdout;
  wrk(1); // warm-up, unrecorded
  for (let i = 0; i < runs; i++) {
    // The warm fork server, or in cold mode the spawn helper (the same program), unless --no-spawn-helper.
    const before = cpuSnapshot(server.pid, SCRIPTSERVE_HELPER);
    const out = wrk(seconds);
    const after = cpuSnapshot(server.pid, SCRIPTSERVE_HELPER);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    if (!(rps > 0) || /Non-2xx/.test(out)) throw new Error(`wrk did not get answers of 200:\n${out}`);
    const c = cpuPerRequest(before, after, rps * seconds);
    const per = (x) => x.toFixed(3);
    const perF = (x) => x.toFixed(0);
    let line = `${warm ? 'warm' : 'cold'} ${script}, ${conns} conns: ${rps.toFixed(0)} req/s | node ${per(c.nodeMs)} ms ${perF(c.nodeFaults)} faults`;
    if (c.helpers) {
      line += ` | ${warm ? 'fork server' : 'spawn helper'} ${per(c.helperMs)} ms ${perF(c.helperFaults)} faults | its children ${per(c.scriptsMs)} ms ${perF(c.scriptFaults)} faults`;
    } else {
      line += ` | scripts ${per(c.scriptsMs)} ms ${perF(c.scriptFaults)} faults`;
    }
    console.log(line + ' (per request)');
  }
} finally {
  await stopGroup(server);
  rmSync(fx.work, { recursive: true, force: true });
}
