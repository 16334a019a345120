// What file-system events cost the server: 8,000 small files in 80
// directories are served once each (so all are cached and watched), then an
// unrelated file in the root is appended to 5,000 times, as a log or a build
// would. Prints the server's CPU time (user + system) over the appends.
//   node bench/cache-events.mjs
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const DIRS = 80;
const FILES_PER_DIR = 100;
const APPENDS = 5000;

const root = mkdtempSync(join(tmpdir(), 'scriptserve-events-'));
const server = spawn(process.execPath, [new URL('./lib/cache-events-server.mjs', import.meta.url).pathname, root], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
try {
  for (let d = 0; d < DIRS; d++) {
    mkdirSync(join(root, `d${d}`));
    for (let f = 0; f < FILES_PER_DIR; f++) writeFileSync(join(root, `d${d}`, `f${f}.txt`), 'x');
  }
  const port = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(Number(String(d)))));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const get = (path) =>
    new Promise((resolve, reject) => {
      http.get({ port, path, agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
    });
  for (let d = 0; d < DIRS; d++) await Promise.all(Array.from({ length: FILES_PER_DIR }, (_, f) => get(`/d${d}/f${f}.txt`)));
  agent.destroy();
  await sleep(500);

  const before = cpuMs(server.pid);
  for (let i = 0; i < APPENDS; i++) {
    appendFileSync(join(root, 'log.txt'), 'line\n');
    if (i % 50 === 0) await sleep(1); // let the events be delivered as they come, not coalesced in one batch
  }
  await sleep(1000);
  console.log(`server CPU during ${APPENDS} appends with ${DIRS * FILES_PER_DIR} files cached: ${cpuMs(server.pid) - before} ms`);
} finally {
  server.kill();
  rmSync(root, { recursive: true, force: true });
}

/** User + system CPU of a process, in ms (/proc/PID/stat, 10 ms ticks). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
