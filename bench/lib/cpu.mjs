// Where a script request's CPU goes, from /proc (Linux): the server's own
// time, its helper processes' (the spawn helper of cold runs, the warm fork
// server) and the scripts' (reaped by a helper, or by the server itself when
// it spawns them). One measurement for bench/cpu-split.mjs and `npm run bench`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Milliseconds per clock tick of /proc/PID/stat's times (USER_HZ, 100 on every Linux build we know of). */
const TICK_MS = 1000 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100);

/**
 * CPU time (utime+stime, ms) and minor page faults of one process, and the
 * same summed over its children that it has reaped (cutime+cstime, cminflt;
 * proc(5)); null when the process is gone.
 */
export function usageOf(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  // Fields after the command name, which is in parentheses and may hold spaces: f[0] is field 3 (state).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS,
    faults: Number(f[7]),
    childCpuMs: (Number(f[13]) + Number(f[14])) * TICK_MS,
    childFaults: Number(f[8]),
  };
}

/**
 * Pids of a server's helper processes, lowest first: its children whose
 * command line matches `pattern` (each server declares its own, see
 * lib/servers.mjs: scriptserve's python/scriptserve_helper.py, the spawn
 * helper, the warm fork server or both; the script floor's helper). None
 * without a pattern, with --no-spawn-helper, or before the first script
 * started one.
 */
export function helpersOf(serverPid, pattern) {
  if (!pattern) return [];
  const r = spawnSync('pgrep', ['-P', String(serverPid), '-f', pattern], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
}

/** The CPU counters of a server and of its helpers (found by `helperPattern`) now; take one before and one after a load run. */
export function cpuSnapshot(serverPid, helperPattern) {
  const helpers = helpersOf(serverPid, helperPattern);
  return { server: usageOf(serverPid), helpers: new Map(helpers.map((pid) => [pid, usageOf(pid)])) };
}

/**
 * CPU (ms) and minor faults per request between two snapshots: `node` is the
 * server process itself; `helper` its helpers' own; `scripts` what the
 * helpers reaped plus what the server reaped itself (every script without a
 * helper, and those it spawned while its helper was starting). Only helpers
 * present in both snapshots count. Null when the server is gone.
 */
export function cpuPerRequest(before, after, requests) {
  if (!before.server || !after.server || !(requests > 0)) return null;
  const helpers = [...after.helpers].filter(([pid, u]) => u && before.helpers.get(pid)).map(([pid, u]) => [before.helpers.get(pid), u]);
  const sum = (pairs, key) => pairs.reduce((s, [a, b]) => s + (b[key] - a[key]), 0);
  const server = [[before.server, after.server]];
  return {
    requests,
    helpers: helpers.length,
    nodeMs: sum(server, 'cpuMs') / requests,
    nodeFaults: sum(server, 'faults') / requests,
    helperMs: helpers.length ? sum(helpers, 'cpuMs') / requests : NaN,
    helperFaults: helpers.length ? sum(helpers, 'faults') / requests : NaN,
    scriptsMs: (sum(helpers, 'childCpuMs') + sum(server, 'childCpuMs')) / requests,
    scriptFaults: (sum(helpers, 'childFaults') + sum(server, 'childFaults')) / requests,
    /** The part of `scripts` the server reaped itself (started with child_process.spawn). */
    spawnedMs: sum(server, 'childCpuMs') / requests,
    /** Did the server start any script itself (a child's faults show even where its CPU rounds to no tick)? */
    serverStarted: startedByServer(before, after),
  };
}

/** Did the server reap a child of its own between two snapshots (a script it started with child_process.spawn)? */
export function startedByServer(before, after) {
  return after.server.childFaults > before.server.childFaults;
}
