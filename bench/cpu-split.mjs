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
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFixtures, PYTHON, BODY_16, BODY_64K } from './lib/fixtures.mjs';
import { freePort, killAllSync, waitReady, startGroup, stopGroup, pinned, which } from './lib/proc.mjs';
import { SCRIPTSERVE_CLI } from './lib/servers.mjs';

const args = process.argv.slice(2);
const rest = args.includes('--') ? args.slice(args.indexOf('--') + 1) : [];
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const warm = args.includes('--warm');
const script = opt('--script', 'hello.py');
const seconds = Number(opt('--seconds', '4'));
const runs = Number(opt('--runs', '2'));
const conns = Number(opt('--conns', '10'));
const route = script === 'route';

/** utime+stime (ms), minor faults, and the same for reaped children, of one pid. */
function usage(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ');
  const tick = 10; // ms per clock tick (USER_HZ 100)
  return { cpu: (Number(f[11]) + Number(f[12])) * tick, faults: Number(f[7]), childCpu: (Number(f[13]) + Number(f[14])) * tick, childFaults: Number(f[8]) };
}

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
    const forkServer = Number(spawnSync('pgrep', ['-P', String(server.pid), '-f', 'scriptserve_helper'], { encoding: 'utf8' }).stdout.trim().split('\n')[0]) || 0;
    const n0 = usage(server.pid);
    const f0 = forkServer ? usage(forkServer) : null;
    const out = wrk(seconds);
    const n1 = usage(server.pid);
    const f1 = forkServer ? usage(forkServer) : null;
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    if (!(rps > 0) || /Non-2xx/.test(out)) throw new Error(`wrk did not get answers of 200:\n${out}`);
    const n = rps * seconds;
    const per = (x) => (x / n).toFixed(3);
    const perF = (x) => (x / n).toFixed(0);
    let line = `${warm ? 'warm' : 'cold'} ${script}, ${conns} conns: ${rps.toFixed(0)} req/s | node ${per(n1.cpu - n0.cpu)} ms ${perF(n1.faults - n0.faults)} faults`;
    if (f0 && f1) {
      line += ` | ${warm ? 'fork server' : 'spawn helper'} ${per(f1.cpu - f0.cpu)} ms ${perF(f1.faults - f0.faults)} faults | its children ${per(f1.childCpu - f0.childCpu)} ms ${perF(f1.childFaults - f0.childFaults)} faults`;
    } else {
      line += ` | scripts ${per(n1.childCpu - n0.childCpu)} ms ${perF(n1.childFaults - n0.childFaults)} faults`;
    }
    console.log(line + ' (per request)');
  }
} finally {
  await stopGroup(server);
  rmSync(fx.work, { recursive: true, force: true });
}
