// `npm run bench`: set up fixtures, start scriptserve and its peers on
// 127.0.0.1, measure them alternating in the same run, and write
// bench/results/latest.md (and latest.json beside it).
//
// Environment (all optional):
//   BENCH_QUICK=1          smoke run: 1 s runs, 10 connections, 64 MiB big transfers
//   BENCH_SECONDS=3        seconds per load run
//   BENCH_PASSES=2         alternating passes
//   BENCH_WARMUP=1         seconds of unrecorded load each server gets before a scenario's runs
//   BENCH_SCRIPT_WARMUP=4  the same before a script scenario's runs (a few hundred requests a second compile slowly)
//                          (a scriptserve's script scenarios get more until its spawn helper starts every script)
//   BENCH_CONNECTIONS=10,50
//   BENCH_BIG=0            skip the big download/POST (default on)
//   BENCH_BIG_MIB=1024     size of the big download/POST
//   BENCH_ONLY=get-1k,404  only these scenarios
//   BENCH_SERVERS=scriptserve,sirv   only these servers
//   BENCH_LOADGEN=wrk|autocannon     default: wrk when installed
//   BENCH_INSTALL=0        do not apt-get install wrk/lighttpd when root
//   BENCH_WORKDIR=dir      fixtures here instead of a temporary directory (e.g. bench/.work)
//   BENCH_KEEP=1           keep the fixtures and server logs
//   BENCH_OUT=path         report path (default bench/results/latest.md)
//   BENCH_SCRIPTSERVE=cli.js  measure another scriptserve build (default dist/cli.js)
//   BENCH_DEADLINE_S=2700  stop everything and exit 2 if the run takes longer
//   BENCH_SERVER_CPU=0     core the servers (and their scripts) are pinned to
//   BENCH_LOAD_CPU=1       core the load generator is pinned to
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, relative } from 'node:path';
import { cpuPerRequest, cpuSnapshot, startedByServer } from './lib/cpu.mjs';
import { createFixtures, PYTHON } from './lib/fixtures.mjs';
import { runLoad } from './lib/load.mjs';
import {
  freePort, killAllSync, lastErrorLine, memoryOf, pinned, request, runCaptured, sampleRss, sleep, startGroup, stopGroup, waitNoChildren,
  waitReady, which,
} from './lib/proc.mjs';
import { renderReport } from './lib/report.mjs';
import { checkServer, scenarios } from './lib/scenarios.mjs';
import { REPO, SCRIPTSERVE_CLI, serverDefinitions } from './lib/servers.mjs';
import { DEFAULT_WARM_PRELOAD } from '../dist/options.js';

const env = process.env;
const QUICK = env.BENCH_QUICK === '1';
const list = (v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : null);
const num = (v, d) => (v === undefined || v === '' ? d : Number(v));

const cfg = {
  seconds: num(env.BENCH_SECONDS, QUICK ? 1 : 3),
  passes: num(env.BENCH_PASSES, 2),
  warmup: num(env.BENCH_WARMUP, QUICK ? 0 : 1),
  scriptWarmup: num(env.BENCH_SCRIPT_WARMUP, num(env.BENCH_WARMUP, QUICK ? 0 : 4)),
  connections: (list(env.BENCH_CONNECTIONS) ?? (QUICK ? ['10'] : ['10', '50'])).map(Number),
  big: env.BENCH_BIG !== '0',
  bigMiB: num(env.BENCH_BIG_MIB, QUICK ? 64 : 1024),
  startupRuns: QUICK ? 3 : 7,
  only: list(env.BENCH_ONLY),
  servers: list(env.BENCH_SERVERS),
  install: env.BENCH_INSTALL !== '0',
  out: env.BENCH_OUT ?? join(REPO, 'bench', 'results', 'latest.md'),
};
const ncpu = os.availableParallelism();
const SERVER_CPU = num(env.BENCH_SERVER_CPU, 0);
const LOAD_CPU = num(env.BENCH_LOAD_CPU, ncpu > 1 ? 1 : 0);
const BIG_TIMEOUT_MS = 300_000;
/** Warm-up slices a scriptserve gets at most for its helper to start every script (see warmUp). */
const HELPER_WARMUP_SLICES = 10;
const DEADLINE_S = num(env.BENCH_DEADLINE_S, 2700);
const notes = [];
const started = Date.now();

function log(msg) {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
}

/** wrk and lighttpd come from Debian; install them when root, else say they were skipped. */
function ensureTools() {
  const missing = ['wrk', 'lighttpd'].filter((n) => !which(n));
  if (!missing.length) return;
  if (!cfg.install) return void notes.push(`${missing.join(', ')} not installed (BENCH_INSTALL=0): skipped.`);
  if (process.getuid?.() !== 0) return void notes.push(`${missing.join(', ')} not installed and not running as root: skipped (install with apt-get).`);
  const apt = (args) => spawnSync('apt-get', args, { stdio: 'ignore', timeout: 300_000, env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } }).status;
  log(`installing ${missing.join(', ')} with apt-get`);
  if (apt(['install', '-y', '-qq', ...missing]) === 0) return;
  apt(['update', '-qq']); // a fresh machine may have no package lists yet
  if (apt(['install', '-y', '-qq', ...missing]) !== 0) {
    notes.push(`apt-get install ${missing.join(' ')} failed: ${missing.filter((n) => !which(n)).join(', ')} skipped.`);
  }
}

function machine(loadgen) {
  const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const py = spawnSync(PYTHON, ['--version'], { encoding: 'utf8' });
  const lighttpd = which('lighttpd') ? spawnSync('lighttpd', ['-v'], { encoding: 'utf8' }).stdout.split(' - ')[0].trim() : null;
  const wrk = loadgen === 'wrk' ? spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.split(' ').slice(0, 2).join(' ') : null;
  const git = (args) => spawnSync('git', ['-C', dirname(dirname(SCRIPTSERVE_CLI)), ...args], { encoding: 'utf8' });
  const commit = git(['rev-parse', '--short', 'HEAD']).stdout.trim();
  const dirty = git(['status', '--porcelain', '--', 'src']).stdout.trim() !== '';
  return {
    scriptserve: `${SCRIPTSERVE_CLI.startsWith(REPO) ? relative(REPO, SCRIPTSERVE_CLI) : SCRIPTSERVE_CLI}${commit ? ` built from commit ${commit}${dirty ? ' plus uncommitted changes in src/' : ''}` : ''}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: `${Object.keys(env).filter((k) => k.startsWith('BENCH_')).map((k) => `${k}=${env[k]} `).join('')}npm run bench`,
    nproc: ncpu,
    cpuModel,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    python: PYTHON,
    pythonVersion: (py.stdout || py.stderr || '').trim().replace(/^Python /, ''),
    lighttpd,
    loadgen: wrk ? `wrk (${wrk.trim()}), 1 thread` : `autocannon ${JSON.parse(readFileSync(join(REPO, 'node_modules', 'autocannon', 'package.json'), 'utf8')).version}`,
    serverCpu: SERVER_CPU,
    loadCpu: LOAD_CPU,
    passes: cfg.passes,
    warmup: cfg.warmup,
    scriptWarmup: cfg.scriptWarmup,
    connections: cfg.connections,
    seconds: cfg.seconds,
    notes,
  };
}

/** Start every server for one pass; a server that fails to start is recorded and left out of the pass. */
async function startServers(defs, fx, pass, results) {
  const up = [];
  for (const def of defs) {
    if (def.missing) continue;
    const port = await freePort();
    const logFile = join(fx.work, 'logs', `${def.id}-pass${pass}.log`);
    const child = startGroup(pinned(SERVER_CPU, def.argv(port, fx)), { cwd: fx.root, logFile });
    try {
      await waitReady(port, child, undefined, undefined, def.scheme === 'https');
      await sleep(300);
      results.servers[def.id].idle.push(memoryOf(child.pid)?.rssMiB ?? NaN);
      up.push({ def, port, child, logFile });
    } catch (err) {
      notes.push(`${def.label} did not start in pass ${pass}: ${err.message}`);
      await stopGroup(child);
    }
  }
  return up;
}

/** A scenario as one server must answer it: its own expected answer where it declares one (lib/servers.mjs `expect`). */
function asAnsweredBy(def, sc, fx) {
  const expect = def.expect?.[sc.id];
  return expect ? { ...sc, expect: expect(fx) } : sc;
}

async function measureServer(server, scenario, conns, pass, tool, fx) {
  const sc = asAnsweredBy(server.def, scenario, fx);
  const base = { pass, scenario: sc.id, server: server.def.id, conns };
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    return { ...base, refused: `the server had exited (${server.child.signalCode ?? `code ${server.child.exitCode}`}; its log: ${lastErrorLine(server.logFile).slice(0, 160) || 'empty'})` };
  }
  const check = await checkServer(server.port, sc, server.def.scheme === 'https');
  if (check.refused) return { ...base, refused: check.refused };
  const stopSampling = sampleRss(server.child.pid);
  // Issue 15: the CPU of each script request, split as bench/cpu-split.mjs does (lib/cpu.mjs).
  const splitCpu = server.def.cpuSplit && sc.script;
  try {
    const helpers = server.def.helperPattern;
    const before = splitCpu ? cpuSnapshot(server.child.pid, helpers) : null;
    const r = await runLoad(server.def.loadgen ?? tool, {
      url: `${server.def.scheme ?? 'http'}://127.0.0.1:${server.port}${sc.request.path}`,
      connections: conns,
      seconds: cfg.seconds,
      cpu: LOAD_CPU,
      request: check.request,
      scriptPath: join(fx.work, `wrk-${sc.id}-${server.def.id}.lua`),
      expectStatus: sc.expect.status,
      closeDelimited: check.closeDelimited,
    });
    const cpu = before ? cpuPerRequest(before, cpuSnapshot(server.child.pid, helpers), r.requests) : undefined;
    if (r.requests === 0 || !(r.rps > 0)) return { ...base, error: `no answer with the expected status completed (${r.errors} errors)` };
    return { ...base, ...r, cpu, peakRss: stopSampling(), validator: check.request.validator, closeDelimited: check.closeDelimited };
  } catch (err) {
    stopSampling();
    return { ...base, error: err.message };
  } finally {
    // Let the scripts of this run be reaped and closed connections drain before the next check.
    await waitNoChildren(server.child.pid, 5000, server.def.helperPattern);
    await sleep(150);
  }
}

/**
 * The warm Python floor (bench/warm-floor.py): a python3 holding the default
 * preloads forks a child per request that runs precompiled code, one at a
 * time, pinned to the server core. Requests/s and CPU per request.
 */
async function measureWarmFloor(sc, pass, workdir) {
  const f = sc.warmFloor;
  const bodyFile = join(workdir, `warm-floor-${sc.id}.body`);
  const expectFile = join(workdir, `warm-floor-${sc.id}.expect`);
  writeFileSync(bodyFile, f.body);
  writeFileSync(expectFile, f.expect);
  const argv = pinned(SERVER_CPU, [PYTHON, join(REPO, 'bench', 'warm-floor.py'), f.script, DEFAULT_WARM_PRELOAD.join(','), bodyFile, expectFile, String(cfg.seconds)]);
  const base = { pass, scenario: sc.id };
  try {
    const { stdout } = await runCaptured(argv, { timeoutMs: (cfg.seconds + 30) * 1000, cwd: dirname(f.script) });
    const r = JSON.parse(stdout.trim().split('\n').pop());
    if (r.requests === 0) return { ...base, error: `no fork answered right (${r.errors} errors)` };
    return { ...base, ...r };
  } catch (err) {
    return { ...base, error: err.message };
  }
}

async function measureSpawnFloor(sc, conns, pass, workdir) {
  const f = sc.floor;
  const opts = { argv: f.argv, cwd: f.cwd, body: f.body.toString('base64'), expect: f.expect.toString('base64'), concurrency: conns, seconds: cfg.seconds };
  // Through a file: a 64 KiB body in base64 is past the kernel's limit for one argument.
  const optsFile = join(workdir, `spawn-floor-${sc.id}.json`);
  writeFileSync(optsFile, JSON.stringify(opts));
  const argv = pinned(SERVER_CPU, [process.execPath, join(REPO, 'bench', 'spawn-floor.mjs'), optsFile]);
  const base = { pass, scenario: sc.id, conns, label: f.label };
  try {
    const { stdout } = await runCaptured(argv, { timeoutMs: (cfg.seconds + 30) * 1000 });
    const r = JSON.parse(stdout.trim().split('\n').pop());
    if (r.requests === 0) return { ...base, error: `no spawn answered right (${r.errors} errors)` };
    return { ...base, ...r };
  } catch (err) {
    return { ...base, error: err.message };
  }
}

/**
 * Unrecorded load before a scenario's measured runs, the same for every
 * server: servers with a JIT (every Node server here) are then measured at
 * their steady state, not while compiling their request path.
 *
 * A scriptserve in a script scenario is loaded further, in slices, until its
 * scripts start the way they will in the measured runs: it starts its spawn
 * helper (a python3 process) with its first script and starts scripts with
 * child_process.spawn until the helper is ready (~0.2 s on the busy server
 * core here; seconds with a slow python3), so a run measured before then is
 * partly a --no-spawn-helper run. That holds even with BENCH_WARMUP=0. (The
 * script floor's helper starts with its server: one slice.)
 */
async function warmUp(server, scenario, tool, fx) {
  const sc = asAnsweredBy(server.def, scenario, fx);
  const helpers = server.def.helperPattern;
  const untilHelper = server.def.cpuSplit && sc.script;
  // Script scenarios run at hundreds of requests a second, not tens of thousands: V8 needs longer to compile their path.
  const warmup = sc.script ? cfg.scriptWarmup : cfg.warmup;
  if (!(warmup > 0) && !untilHelper) return;
  const check = await checkServer(server.port, sc, server.def.scheme === 'https');
  if (check.refused) return;
  const pid = server.child.pid;
  for (let slice = 1; ; slice++) {
    const before = untilHelper ? cpuSnapshot(pid, helpers) : null;
    await runLoad(server.def.loadgen ?? tool, {
      url: `${server.def.scheme ?? 'http'}://127.0.0.1:${server.port}${sc.request.path}`,
      connections: cfg.connections[0],
      seconds: warmup > 0 ? warmup : 1,
      cpu: LOAD_CPU,
      request: check.request,
      scriptPath: join(fx.work, `wrk-${sc.id}-${server.def.id}-warmup.lua`),
      expectStatus: sc.expect.status,
      closeDelimited: check.closeDelimited,
    }).catch(() => {});
    await waitNoChildren(pid, 5000, helpers);
    if (!before) return;
    const after = cpuSnapshot(pid, helpers);
    // No helper (--no-spawn-helper, or one given up on): nothing to wait for; else a slice its helper started alone.
    if (!before.server || !after.server || !after.helpers.size || !startedByServer(before, after)) {
      if (slice > 1) log(`${sc.id} ${server.def.id}: ${slice} warm-up slices until its helper started every script`);
      return;
    }
    if (slice >= HELPER_WARMUP_SLICES) {
      notes.push(`${server.def.label}, ${sc.id}: its helper had not taken over starting scripts after ${slice} warm-up slices; the runs include scripts started with child_process.spawn.`);
      return;
    }
  }
}

/**
 * One pass: for each scenario, fresh servers (so a peak RSS or a leak stays
 * with the scenario that caused it), then each connection count, each server
 * in turn, then the spawn floor.
 */
async function runPass(pass, defs, scenarioList, tool, fx, results) {
  // Alternate the order between passes so that no server always runs right after the same one.
  const order = pass % 2 === 1 ? defs : [...defs].reverse();
  for (const sc of scenarioList) {
    const up = await startServers(order.filter((d) => d.scenarios.includes(sc.id)), fx, pass, results);
    try {
      for (const server of up) await warmUp(server, sc, tool, fx);
      const pairedOn = sc.paired ? up.find((s) => s.def.id === 'scriptserve') : undefined;
      if (pairedOn) await warmUp(pairedOn, sc.paired, tool, fx);
      for (const conns of cfg.connections) {
        for (const server of up) {
          for (const scenario of server === pairedOn ? [sc, sc.paired] : [sc]) {
            const r = await measureServer(server, scenario, conns, pass, tool, fx);
            results.runs.push(r);
            log(`pass ${pass} ${scenario.id} c${conns} ${server.def.id}: ${r.refused ? `REFUSED ${r.refused}` : r.error ? `ERROR ${r.error}` : `${Math.round(r.rps)} req/s, ${r.mbps.toFixed(1)} MB/s, errors ${r.errors}${cpuText(r.cpu)}`}`);
          }
        }
        if (sc.floor) {
          const f = await measureSpawnFloor(sc, conns, pass, fx.work);
          results.floors.push(f);
          log(`pass ${pass} ${sc.id} c${conns} spawn floor: ${f.error ? `ERROR ${f.error}` : `${Math.round(f.rps)} spawns/s`}`);
        }
      }
      if (sc.warmFloor) {
        const f = await measureWarmFloor(sc, pass, fx.work);
        results.warmFloors.push(f);
        log(`pass ${pass} ${sc.id} warm floor: ${f.error ? `ERROR ${f.error}` : `${Math.round(f.rps)} forks/s; parent ${f.parentMs.toFixed(2)} ms, child ${f.childMs.toFixed(2)} ms a request`}`);
      }
    } finally {
      await Promise.all(up.map((s) => stopGroup(s.child)));
    }
  }
}

/** A run's CPU per request for the progress log. */
function cpuText(c) {
  if (!c) return '';
  const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–');
  return `; CPU ms/request: node ${f(c.nodeMs)}, helper ${f(c.helperMs)}, scripts ${f(c.scriptsMs)}${c.helpers && c.serverStarted ? ` (some started by node: ${f(c.spawnedMs)})` : ''}`;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Start to first answered request, against `node -e 0` start to exit, both pinned to the server core. */
async function measureStartup(fx) {
  const ss = [];
  const node = [];
  let idleRssMiB = NaN;
  for (let i = 0; i < cfg.startupRuns; i++) {
    let t0 = performance.now();
    await runCaptured(pinned(SERVER_CPU, [process.execPath, '-e', '0']), { timeoutMs: 10_000 });
    node.push(performance.now() - t0);
    const port = await freePort();
    t0 = performance.now();
    const child = startGroup(pinned(SERVER_CPU, [process.execPath, SCRIPTSERVE_CLI, '-q', '-b', '127.0.0.1', '-p', String(port), '-d', fx.root]));
    try {
      await waitReady(port, child, 10_000, 1);
      ss.push(performance.now() - t0);
      if (i === 0) {
        await sleep(1000);
        idleRssMiB = memoryOf(child.pid)?.rssMiB ?? NaN;
      }
    } finally {
      await stopGroup(child);
    }
  }
  return { runs: cfg.startupRuns, scriptserveMs: median(ss), nodeMs: median(node), idleRssMiB, samples: { scriptserve: ss, node } };
}

/** Stream a big GET or POST (bounded in time) while sampling the server's RSS. */
function bigTransfer(port, pid, { method, path, size }) {
  return new Promise((resolve) => {
    const beforeMiB = memoryOf(pid)?.rssMiB ?? NaN;
    const stopSampling = sampleRss(pid, 50);
    const t0 = performance.now();
    let bytes = 0;
    let status = 0;
    const finish = (error) => {
      clearTimeout(timer);
      const peakMiB = stopSampling();
      const seconds = (performance.now() - t0) / 1000;
      if (!error && status !== 200) error = `status ${status}`;
      if (!error && bytes !== size) error = `received ${bytes} of ${size} bytes`;
      resolve(error ? { error, bytes, seconds } : { bytes, seconds, beforeMiB, peakMiB, growthMiB: peakMiB - beforeMiB });
    };
    const headers = method === 'POST' ? { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) } : {};
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      status = res.statusCode;
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => finish());
      res.on('error', (e) => finish(e.message));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(`not done within ${BIG_TIMEOUT_MS / 1000} s`);
    }, BIG_TIMEOUT_MS);
    req.on('error', (e) => finish(e.message));
    if (method !== 'POST') return void req.end();
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    let sent = 0;
    const write = () => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

/** One big transfer on a fresh scriptserve, so that its growth is measured from idle. */
async function bigOnFreshServer(fx, transfer) {
  const port = await freePort();
  const argv = [process.execPath, SCRIPTSERVE_CLI, '-q', '-b', '127.0.0.1', '-p', String(port), '-d', fx.root, '--max-body', `${cfg.bigMiB + 1}M`, '--script-timeout', '600'];
  const child = startGroup(pinned(SERVER_CPU, argv), { logFile: join(fx.work, 'logs', 'scriptserve-big.log') });
  try {
    await waitReady(port, child);
    await request(port, { path: '/1k.bin' });
    await sleep(500);
    return await bigTransfer(port, child.pid, transfer);
  } catch (err) {
    return { error: err.message };
  } finally {
    await stopGroup(child);
  }
}

async function measureBig(fx) {
  if (!cfg.big) return { skipped: 'skipped (BENCH_BIG=0)', mib: cfg.bigMiB };
  const size = cfg.bigMiB * 1024 * 1024;
  log(`big: GET ${cfg.bigMiB} MiB`);
  const download = await bigOnFreshServer(fx, { method: 'GET', path: '/big.bin', size });
  log(`big: POST ${cfg.bigMiB} MiB through echo-cat.sh`);
  const post = await bigOnFreshServer(fx, { method: 'POST', path: '/cgi-bin/echo-cat.sh', size });
  return { mib: cfg.bigMiB, download, post };
}

async function main() {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      killAllSync();
      process.exit(130);
    });
  }
  process.on('exit', killAllSync);
  spawnSync('taskset', ['-pc', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
  if (ncpu < 2) notes.push('only one core: server and load generator share it, so the figures include the load generator’s cost.');
  notes.push('the machine may be shared with other work: compare ratios within this run, not absolute numbers across runs.');
  ensureTools();
  const tool = env.BENCH_LOADGEN ?? (which('wrk') ? 'wrk' : 'autocannon');
  if (tool !== 'wrk' && tool !== 'autocannon') throw new Error(`BENCH_LOADGEN must be wrk or autocannon, not ${tool}`);
  if (tool === 'wrk' && !which('wrk')) throw new Error('BENCH_LOADGEN=wrk but wrk is not installed');
  const fx = createFixtures({ workdir: env.BENCH_WORKDIR, bigMiB: cfg.big ? cfg.bigMiB : 0 });
  mkdirSync(join(fx.work, 'logs'), { recursive: true });
  log(`fixtures in ${fx.work}; load generator ${tool}`);
  const defs = serverDefinitions().filter((d) => !cfg.servers || cfg.servers.includes(d.id));
  const scenarioList = scenarios(fx).filter((s) => !cfg.only || cfg.only.includes(s.id));
  const results = {
    meta: machine(tool),
    serverOrder: defs.map((d) => d.id),
    servers: Object.fromEntries(defs.map((d) => [d.id, { label: d.label, floor: d.floor === true, scenarios: d.scenarios, missing: d.missing, note: d.note, idle: [] }])),
    runs: [],
    floors: [],
    warmFloors: [],
  };
  results.meta.peers = defs.filter((d) => d.id !== 'scriptserve').map((d) => d.label).join(', ');
  if (tool === 'autocannon') notes.push('autocannon does not finish answers that end at connection close (python http.server CGI): install wrk for those.');
  try {
    for (let pass = 1; pass <= cfg.passes; pass++) await runPass(pass, defs, scenarioList, tool, fx, results);
    if (results.servers.scriptserve) {
      log('start-up time');
      results.startup = await measureStartup(fx).catch((err) => void notes.push(`start-up measurement failed: ${err.message}`));
      results.big = await measureBig(fx);
    }
  } catch (err) {
    notes.push(`the run stopped early: ${err.message}`);
    log(err.stack);
  } finally {
    killAllSync();
    if (env.BENCH_KEEP !== '1' && !env.BENCH_WORKDIR) rmSync(fx.work, { recursive: true, force: true });
    else log(`kept ${fx.work}`);
  }
  results.meta.elapsedS = (Date.now() - started) / 1000;
  mkdirSync(dirname(cfg.out), { recursive: true });
  writeFileSync(cfg.out, renderReport(results, scenarioList));
  writeFileSync(cfg.out.replace(/\.md$/, '.json'), JSON.stringify(results, null, 1));
  log(`wrote ${relative(process.cwd(), cfg.out)} in ${results.meta.elapsedS.toFixed(0)} s`);
}

// Bound the whole run, whatever happens inside it.
const watchdog = setTimeout(() => {
  log(`still running after ${DEADLINE_S} s (BENCH_DEADLINE_S): stopping`);
  killAllSync();
  process.exit(2);
}, DEADLINE_S * 1000);
watchdog.unref();

main().then(() => {
  killAllSync();
  process.exit(0);
}, (err) => {
  killAllSync();
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
