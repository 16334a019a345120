// bench/results/latest.md from the recorded runs. Every figure in it comes
// from this run; nothing is carried over from earlier ones.

const fmt = (n, digits = 0) =>
  n === undefined || n === null || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n) => (n === undefined || Number.isNaN(n) ? '–' : n < 10 ? fmt(n, 2) : fmt(n, 1));
// Two decimals, or two significant digits for small ratios (a listing 700× slower is not 0.00×).
const ratioText = (r) => (r >= 0.1 ? fmt(r, 2) : String(Number(r.toPrecision(2))));
const ratio = (a, b) => (a > 0 && b > 0 ? `${ratioText(a / b)}×` : '–');

function byKey(runs, key) {
  const map = new Map();
  for (const r of runs) {
    const k = key(r);
    if (!map.has(k)) map.set(k, []);
    map.get(k).push(r);
  }
  return map;
}

/** Best, range and the figures of the best pass for one server, scenario and connection count. */
function summarize(runs, metric) {
  const ok = runs.filter((r) => !r.refused && !r.error);
  if (!ok.length) return null;
  const best = ok.reduce((a, b) => (b[metric] > a[metric] ? b : a));
  const values = ok.map((r) => r.rps);
  return {
    best,
    min: Math.min(...values),
    max: Math.max(...values),
    passes: ok.length,
    errors: runs.reduce((s, r) => s + (r.errors ?? 0), 0),
    requests: runs.reduce((s, r) => s + (r.requests ?? 0), 0),
    peakRss: Math.max(...ok.map((r) => r.peakRss ?? NaN).filter((x) => !Number.isNaN(x))),
  };
}

/** The best figure a server reached in a scenario over every connection count and pass. */
export function bestOf(results, scenario, server, metric = 'rps') {
  const pool = server === 'floor' ? results.floors.filter((f) => f.scenario === scenario) : results.runs.filter((r) => r.scenario === scenario && r.server === server);
  const ok = pool.filter((r) => !r.refused && !r.error && r[metric] > 0);
  return ok.length ? Math.max(...ok.map((r) => r[metric])) : NaN;
}

function scenarioTable(results, sc) {
  const out = [`### ${sc.title}`, '', `\`${sc.request.method} ${sc.request.path}\`${sc.request.body ? ` with a ${fmt(sc.request.body.length)}-byte body` : ''}; expected status ${sc.expect.status}.`, ''];
  const metric = sc.metric ?? 'rps';
  out.push('| server | conns | req/s (best) | range over passes | MB/s | p50 ms | p99 ms | errors | idle RSS MiB | peak RSS MiB | ratio to scriptserve |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  const runs = results.runs.filter((r) => r.scenario === sc.id);
  const floors = results.floors.filter((f) => f.scenario === sc.id);
  const notes = [];
  for (const conns of results.meta.connections) {
    const ref = summarize(runs.filter((r) => r.server === 'scriptserve' && r.conns === conns), metric);
    const refValue = ref?.best[metric];
    const rows = [];
    for (const server of results.serverOrder) {
      const s = summarize(runs.filter((r) => r.server === server && r.conns === conns), metric);
      if (!s) continue;
      const info = results.servers[server];
      rows.push(row(info.label, conns, s, Math.min(...info.idle), ratio(s.best[metric], refValue)));
    }
    if (sc.compareWith) {
      const s = summarize(results.runs.filter((r) => r.scenario === sc.compareWith && r.server === 'scriptserve' && r.conns === conns), metric);
      if (s) rows.push(row(`scriptserve, CGI /bin/sh script (from “${sc.compareWith}”)`, conns, s, Math.min(...results.servers.scriptserve.idle), ratio(s.best[metric], refValue)));
    }
    if (sc.paired) {
      const s = summarize(results.runs.filter((r) => r.scenario === sc.paired.id && r.server === 'scriptserve' && r.conns === conns), metric);
      if (s) rows.push(row(sc.paired.label, conns, s, Math.min(...results.servers.scriptserve.idle), ratio(s.best[metric], refValue)));
    }
    const f = summarize(floors.filter((x) => x.conns === conns), 'rps');
    if (f) rows.push(row(`floor: child_process.spawn ${sc.floor.label}, ${conns} in flight`, conns, f, NaN, ratio(f.best.rps, ref?.best.rps)));
    out.push(...rows);
  }
  for (const r of runs.filter((x) => x.refused || x.error)) notes.push(`- ${results.servers[r.server].label} (pass ${r.pass}, ${r.conns} conns) not reported: ${r.refused ?? r.error}`);
  const absent = Object.entries(results.servers).filter(([, info]) => !info.floor && !info.scenarios.includes(sc.id));
  // scriptserve's variants (warm Python, no spawn helper, TLS) could answer; each is measured where it differs.
  const cannot = absent.filter(([id]) => !id.startsWith('scriptserve-'));
  const elsewhere = absent.filter(([id]) => id.startsWith('scriptserve-'));
  if (cannot.length) notes.push(`- Not measured, they cannot do this: ${cannot.map(([, info]) => info.label).join(', ')}.`);
  if (elsewhere.length) notes.push(`- Not measured here (variants measured in other scenarios only): ${elsewhere.map(([, info]) => info.label).join(', ')}.`);
  for (const info of Object.values(results.servers)) if (info.missing && info.scenarios.includes(sc.id)) notes.push(`- ${info.label}: skipped, ${info.missing}.`);
  for (const server of new Set(runs.map((r) => r.server))) if (results.servers[server].note) notes.push(`- ${results.servers[server].label}: ${results.servers[server].note}.`);
  const closing = [...new Set(runs.filter((r) => r.closeDelimited).map((r) => results.servers[r.server].label))];
  if (closing.length) notes.push(`- ${closing.join(', ')}: answers end when the connection closes (no Content-Length); wrk counts a read error for each such complete answer, left out of errors here.`);
  if (sc.conditional) {
    const validators = [...new Set(runs.filter((r) => r.validator).map((r) => `${results.servers[r.server].label}: ${r.validator}`))];
    if (validators.length) notes.push(`- Validator sent: ${validators.join('; ')}.`);
  }
  return [...out, '', ...notes, ''].join('\n');
}

function row(label, conns, s, idle, ratioText) {
  const b = s.best;
  const range = s.passes > 1 ? `${fmt(s.min)}–${fmt(s.max)}` : '–';
  const idleText = Number.isFinite(idle) ? fmt(idle, 1) : '–';
  const peak = Number.isFinite(s.peakRss) ? fmt(s.peakRss, 1) : '–';
  const errors = `${fmt(s.errors)}${s.errors > 0.01 * s.requests ? ' ⚠' : ''}`;
  return `| ${label} | ${conns} | ${fmt(b.rps)} | ${range} | ${b.mbps === undefined ? '–' : fmt(b.mbps, 1)} | ${ms(b.p50)} | ${ms(b.p99)} | ${errors} | ${idleText} | ${peak} | ${ratioText} |`;
}

function targets(results) {
  const b = (sc, server, metric) => bestOf(results, sc, server, metric);
  const ss = (sc, metric) => b(sc, 'scriptserve', metric);
  const rows = [];
  const add = (what, value, goal, ok) => rows.push(`| ${what} | ${value} | ${goal} | ${ok === null ? '–' : ok ? 'yes' : '**no**'} |`);
  const cmp = (what, a, bb, goal) => {
    const r = a / bb;
    add(what, Number.isFinite(r) ? `${ratioText(r)}×` : 'not measured', `≥ ${goal}×`, Number.isFinite(r) ? r >= goal : null);
  };
  cmp('GET 1 KiB: scriptserve ÷ sirv-cli', ss('get-1k'), b('get-1k', 'sirv'), 1.3);
  cmp('GET 1 KiB: scriptserve ÷ node:http floor', ss('get-1k'), b('get-1k', 'floor-node'), 1.0);
  cmp('GET 100 KiB: scriptserve ÷ sirv-cli', ss('get-100k'), b('get-100k', 'sirv'), 1.2);
  cmp('GET 10 MiB: scriptserve MB/s ÷ sirv-cli MB/s', ss('get-10m', 'mbps'), b('get-10m', 'sirv', 'mbps'), 1.0);
  const maxConns = Math.max(...results.meta.connections);
  const rss10m = results.runs.filter((r) => r.scenario === 'get-10m' && r.server === 'scriptserve' && r.conns === maxConns && r.peakRss > 0);
  const peak = rss10m.length ? Math.max(...rss10m.map((r) => r.peakRss)) : NaN;
  add(`GET 10 MiB: scriptserve peak RSS at ${maxConns} conns`, Number.isFinite(peak) ? `${fmt(peak, 1)} MiB` : 'not measured', '< 150 MiB', Number.isFinite(peak) ? peak < 150 : null);
  cmp('404: scriptserve ÷ sirv-cli', ss('404'), b('404', 'sirv'), 1.0);
  // No goal of the issue: shows what sending a page (rather than sirv's empty body) costs Node by itself.
  const r404 = ss('404') / b('404', 'floor-404');
  add("404: scriptserve ÷ node:http sending the same 404 bytes (context)", Number.isFinite(r404) ? `${ratioText(r404)}×` : 'not measured', '–', null);
  const sirvOverFloor = b('404', 'sirv') / b('404', 'floor-404');
  add("404: sirv-cli's empty 404 ÷ node:http sending scriptserve's 404 bytes (context)", Number.isFinite(sirvOverFloor) ? `${ratioText(sirvOverFloor)}×` : 'not measured', '–', null);
  cmp('304: scriptserve 304 rate ÷ its GET of the same file (same process, measured alternately)', ss('304'), ss('304-get'), 1.0);
  const r304 = ss('304') / ss('get-1k');
  add('304: scriptserve 304 rate ÷ its rate in the GET 1 KiB scenario, minutes apart (context)', Number.isFinite(r304) ? `${ratioText(r304)}×` : 'not measured', '–', null);
  cmp('Listing: scriptserve ÷ python http.server', ss('listing'), b('listing', 'python'), 5);
  cmp('Listing: scriptserve ÷ http-server', ss('listing'), b('listing', 'http-server'), 10);
  cmp('/bin/sh CGI: scriptserve ÷ sh spawn floor', ss('cgi-sh'), b('cgi-sh', 'floor'), 0.7);
  cmp('Python CGI: scriptserve ÷ python spawn floor', ss('cgi-py'), b('cgi-py', 'floor'), 0.9);
  cmp('Python CGI: scriptserve ÷ python --cgi', ss('cgi-py'), b('cgi-py', 'python'), 1.5);
  cmp('64 KiB echo: scriptserve ÷ python echo spawn floor', ss('echo-64k'), b('echo-64k', 'floor'), 0.9);
  cmp('64 KiB echo: scriptserve ÷ python --cgi', ss('echo-64k'), b('echo-64k', 'python'), 1.5);
  cmp('Issue 18: compressed 100 KiB text (cached) ÷ its uncompressed GET (same process, measured alternately)', ss('compress-100k'), ss('compress-100k-identity'), 0.9);
  const rSirvBr = ss('compress-100k') / b('compress-100k', 'sirv-precompressed');
  add("Issue 18: compressed 100 KiB text: scriptserve (compressed once, cached) ÷ sirv-cli's precompressed copy (context)", Number.isFinite(rSirvBr) ? `${ratioText(rSirvBr)}×` : 'not measured', '–', null);
  // Issue 18: TLS may cost at most 1.5× plain per request on HTTP/1.1 keep-alive, i.e. a rate ≥ 1/1.5 of plain HTTP's.
  cmp('Issue 18: GET 1 KiB over TLS, HTTP/1.1 keep-alive ÷ plain HTTP', b('get-1k', 'scriptserve-tls'), ss('get-1k'), 0.67);
  const h2 = b('get-1k', 'scriptserve-h2') / ss('get-1k');
  add('Issue 18: GET 1 KiB over TLS, HTTP/2 (h2load) ÷ plain HTTP/1.1 (context)', Number.isFinite(h2) ? `${ratioText(h2)}×` : 'not measured', '–', null);
  const idle = results.servers.scriptserve ? Math.min(...results.servers.scriptserve.idle) : NaN;
  add('scriptserve idle RSS', Number.isFinite(idle) ? `${fmt(idle, 1)} MiB` : 'not measured', '< 60 MiB', Number.isFinite(idle) ? idle < 60 : null);
  const st = results.startup;
  if (st) {
    const r = st.scriptserveMs / st.nodeMs;
    add('Start to first answer ÷ `node -e 0` start to exit', `${fmt(r, 2)}× (${ms(st.scriptserveMs)} vs ${ms(st.nodeMs)} ms)`, '< 2×', r < 2);
  }
  for (const [key, label] of [['download', 'download'], ['post', 'POST through echo script']]) {
    const big = results.big?.[key];
    const ok = big && !big.error;
    add(`${results.big?.mib ?? '?'} MiB ${label}: RSS growth`, ok ? `${fmt(big.growthMiB, 1)} MiB` : big?.error ?? results.big?.skipped ?? 'not measured', '< 50 MiB', ok ? big.growthMiB < 50 : null);
  }
  const warm = (sc, metric) => b(sc, 'scriptserve-warm', metric);
  cmp('Issue 7: warm Python hello ÷ python spawn floor', warm('cgi-py'), b('cgi-py', 'floor'), 1);
  cmp('Issue 7: warm 64 KiB echo ÷ cold (scriptserve)', warm('echo-64k'), ss('echo-64k'), 1);
  // Issue 15: Node's own CPU per script request (the section below), then the script ratios it replaced.
  const nodeCpu = (what, sc, server, goalMs) => {
    const c = cpuFigure(results, sc, server);
    add(what, c ? `${fmt(c.nodeMs, 2)} ms (${c.conns} conns)` : 'not measured', `≤ ${fmt(goalMs, 1)} ms`, c ? c.nodeMs <= goalMs : null);
  };
  nodeCpu("Issue 15: Node's own CPU per /bin/sh CGI request, spawn helper (scriptserve)", 'cgi-sh', 'scriptserve', 0.4);
  // No goal: the same figure for the least a Node server does per script request with a helper (bench/floor-script-server.mjs).
  const floorCpu = cpuFigure(results, 'cgi-sh', 'floor-script');
  add("Issue 15: Node's own CPU per /bin/sh CGI request: floor (node:http + one helper connection) (context)", floorCpu ? `${fmt(floorCpu.nodeMs, 2)} ms (${floorCpu.conns} conns)` : 'not measured', '–', null);
  nodeCpu("Issue 15: Node's own CPU per warm Python hello request (scriptserve --warm-python)", 'cgi-py', 'scriptserve-warm', 0.4);
  nodeCpu("Issue 15: Node's own CPU per /bin/sh CGI request, child_process.spawn (scriptserve --no-spawn-helper)", 'cgi-sh', 'scriptserve-spawn', 1.0);
  // No goal: the same figure for a bare Node loop that only spawns hello.sh (bench/spawn-floor.mjs), the least child_process.spawn costs Node.
  const spawnFloorCpu = results.floors.filter((f) => f.scenario === 'cgi-sh' && f.conns === 10 && Number.isFinite(f.nodeMs));
  add("Issue 15: Node's own CPU per spawn of hello.sh from a bare Node loop, child_process.spawn, 10 in flight (context: the spawn floor)", spawnFloorCpu.length ? `${fmt(Math.min(...spawnFloorCpu.map((f) => f.nodeMs)), 2)} ms` : 'not measured', '–', null);
  cmp('Issue 15: /bin/sh CGI: scriptserve ÷ lighttpd', ss('cgi-sh'), b('cgi-sh', 'lighttpd'), 0.6);
  const rRoute = ss('route') / ss('cgi-sh');
  add('Issue 15: command route ÷ the same /bin/sh work as CGI', Number.isFinite(rRoute) ? `${ratioText(rRoute)}×` : 'not measured', '0.9×–1.1×', Number.isFinite(rRoute) ? rRoute >= 0.9 && rRoute <= 1.1 : null);
  cmp('Issue 15: warm Python hello ÷ lighttpd', warm('cgi-py'), b('cgi-py', 'lighttpd'), 8);
  // No goal: the warm floor (bench/warm-floor.py) is what any warm server could reach at best on this machine.
  const warmFloors = (results.warmFloors ?? []).filter((f) => !f.error);
  const warmFloor = warmFloors.length ? Math.max(...warmFloors.map((f) => f.rps)) : NaN;
  const rWarmFloor = warmFloor / b('cgi-py', 'lighttpd');
  add('Issue 15: warm Python floor (fork and run precompiled hello.py, no server) ÷ lighttpd (context: the most a warm server could reach here)', Number.isFinite(rWarmFloor) ? `${ratioText(rWarmFloor)}×` : 'not measured', '–', null);
  const rWarmOfFloor = warm('cgi-py') / warmFloor;
  add('Issue 15: warm Python hello ÷ the warm floor (context)', Number.isFinite(rWarmOfFloor) ? `${ratioText(rWarmOfFloor)}×` : 'not measured', '–', null);
  const warmP99 = results.runs.filter((r) => r.scenario === 'cgi-py' && r.server === 'scriptserve-warm' && r.conns === 10 && Number.isFinite(r.p99));
  const p99 = warmP99.length ? Math.min(...warmP99.map((r) => r.p99)) : NaN;
  add('Issue 15: warm Python hello p99 at 10 conns', Number.isFinite(p99) ? `${fmt(p99, 1)} ms` : 'not measured', '< 15 ms', Number.isFinite(p99) ? p99 < 15 : null);
  return [
    '## Targets',
    '',
    'Each ratio uses the best figure of each side over every pass and connection count of this run. Node’s own CPU per script request is that of the run with the best req/s at 10 connections (at the fewest connections measured, without 10), as in the next section.',
    '',
    '| target | measured | goal | met |',
    '| --- | ---: | ---: | :---: |',
    ...rows,
    '',
  ].join('\n');
}

/** The connection count the CPU figures of the targets come from: 10 (as in issue 15), else the fewest measured. */
const cpuConns = (results) => (results.meta.connections.includes(10) ? 10 : Math.min(...results.meta.connections));

/** The run with the best req/s among those with a CPU split, and the range of Node's share over them. */
function summarizeCpu(runs) {
  const s = summarize(runs.filter((r) => r.cpu), 'rps');
  if (!s) return null;
  const node = runs.filter((r) => r.cpu && !r.refused && !r.error).map((r) => r.cpu.nodeMs);
  return { ...s, nodeMin: Math.min(...node), nodeMax: Math.max(...node) };
}

/** Node's own CPU per request of one server (a scriptserve variant, the script floor) in one script scenario (the targets' figure), or null. */
function cpuFigure(results, scenario, server) {
  const conns = cpuConns(results);
  const s = summarizeCpu(results.runs.filter((r) => r.scenario === scenario && r.server === server && r.conns === conns));
  return s ? { conns, nodeMs: s.best.cpu.nodeMs } : null;
}

/** Issue 15: where the CPU of one script request goes, per script scenario and scriptserve variant (and the script floor). */
function cpuSection(results, scenarioList) {
  const out = [
    '## Where a script request’s CPU goes',
    '',
    'CPU time (utime + stime from `/proc/PID/stat`) per request over each measured run, split as `node bench/cpu-split.mjs` splits it (bench/lib/cpu.mjs): **Node** is the server process itself; **helper** is its python3 helper’s own time (the spawn helper, or with `--warm-python` the fork server; the floor’s bench/floor-script-helper.py); **scripts** is what the processes that ran the scripts used, reaped by the helper or, without one, by the server. Requests are the load generator’s count of completed answers in that run. Each row is the run with the best req/s at that connection count (the scenario tables’ row); the Node range is over every pass. ⚠: the server started some of that run’s scripts itself, its helper not (or no longer) starting them all. Minor page faults per request in the last column. The floor row (/bin/sh CGI) is bench/floor-script-server.mjs: node:http reading the body, one Unix-socket connection per request to a python3 helper that `posix_spawn`s the script with that connection as its stdout, piped unparsed into the answer; the least Node CPU a script request takes with a helper.',
    '',
  ];
  let any = false;
  for (const sc of scenarioList.filter((x) => x.script)) {
    const rows = [];
    for (const conns of results.meta.connections) {
      for (const server of results.serverOrder) {
        const s = summarizeCpu(results.runs.filter((r) => r.scenario === sc.id && r.server === server && r.conns === conns));
        if (!s) continue;
        const c = s.best.cpu;
        const range = s.passes > 1 ? `${fmt(s.nodeMin, 2)}–${fmt(s.nodeMax, 2)}` : '–';
        // Started by: the helper, Node's child_process.spawn, or both (a helper that was not ready for the whole run).
        const by = c.helpers ? (c.serverStarted ? 'helper and Node ⚠' : 'helper') : 'Node (child_process.spawn)';
        const faults = `${fmt(c.nodeFaults)} / ${c.helpers ? fmt(c.helperFaults) : '–'} / ${fmt(c.scriptFaults)}`;
        rows.push(`| ${results.servers[server].label} | ${conns} | ${fmt(s.best.rps)} | **${fmt(c.nodeMs, 2)}** | ${range} | ${c.helpers ? fmt(c.helperMs, 2) : '–'} | ${fmt(c.scriptsMs, 2)} | ${by} | ${faults} |`);
      }
    }
    if (!rows.length) continue;
    any = true;
    out.push(`### CPU per request: ${sc.title}`, '');
    out.push('| server | conns | req/s | Node ms | Node ms, range | helper ms | scripts ms | scripts started by | faults Node / helper / scripts |');
    out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
    out.push(...rows, '');
  }
  if (!any) out.push('No script scenario was measured on a scriptserve in this run.', '');
  return out.join('\n');
}

function floorsSection(results) {
  const out = ['## Floors', '', '| floor | conns / in flight | best per second | range | p50 ms | p99 ms | errors |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const sc of ['get-1k', 'get-100k', 'get-10m']) {
    for (const conns of results.meta.connections) {
      const s = summarize(results.runs.filter((r) => r.scenario === sc && r.server === 'floor-node' && r.conns === conns), 'rps');
      if (s) out.push(`| node:http + createReadStream, ${sc} (requests) | ${conns} | ${fmt(s.best.rps)} | ${fmt(s.min)}–${fmt(s.max)} | ${ms(s.best.p50)} | ${ms(s.best.p99)} | ${fmt(s.errors)} |`);
    }
  }
  for (const conns of results.meta.connections) {
    const s = summarize(results.runs.filter((r) => r.scenario === '404' && r.server === 'floor-404' && r.conns === conns), 'rps');
    if (s) out.push(`| node:http sending scriptserve's 404 bytes (requests) | ${conns} | ${fmt(s.best.rps)} | ${fmt(s.min)}–${fmt(s.max)} | ${ms(s.best.p50)} | ${ms(s.best.p99)} | ${fmt(s.errors)} |`);
  }
  for (const conns of results.meta.connections) {
    const s = summarize(results.runs.filter((r) => r.scenario === 'cgi-sh' && r.server === 'floor-script' && r.conns === conns), 'rps');
    if (s) out.push(`| node:http + one helper connection per request, posix_spawn hello.sh (cgi-sh) (requests) | ${conns} | ${fmt(s.best.rps)} | ${fmt(s.min)}–${fmt(s.max)} | ${ms(s.best.p50)} | ${ms(s.best.p99)} | ${fmt(s.errors)} |`);
  }
  for (const [sc, rows] of byKey(results.floors, (f) => f.scenario)) {
    for (const conns of results.meta.connections) {
      const s = summarize(rows.filter((f) => f.conns === conns), 'rps');
      const cpu = s && Number.isFinite(s.best.nodeMs) ? `; Node ${fmt(s.best.nodeMs, 2)} ms a spawn` : '';
      if (s) out.push(`| spawn ${rows[0].label} (${sc}) (spawns${cpu}) | ${conns} | ${fmt(s.best.rps)} | ${fmt(s.min)}–${fmt(s.max)} | ${ms(s.best.p50)} | ${ms(s.best.p99)} | ${fmt(s.errors)} |`);
    }
  }
  const warm = (results.warmFloors ?? []).filter((f) => !f.error);
  if (warm.length) {
    const best = warm.reduce((a, b) => (b.rps > a.rps ? b : a));
    const rates = warm.map((f) => f.rps);
    out.push(`| warm Python: a python3 holding the default preloads forks a child per request that runs precompiled hello.py (cgi-py) (requests; parent ${fmt(best.parentMs, 2)} ms ${fmt(best.parentFaults)} faults, child ${fmt(best.childMs, 2)} ms ${fmt(best.childFaults)} faults a request) | 1 | ${fmt(best.rps)} | ${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))} | – | – | ${fmt(warm.reduce((n, f) => n + f.errors, 0))} |`);
  }
  return [...out, '', 'The spawn floor starts the script exactly as a CGI server does (its shebang, a CGI environment, the body on stdin, stdout read to the end), from one Node process pinned to the server core. The warm Python floor (bench/warm-floor.py) is the least a warm request can cost with no server at all: fork, run precompiled code with the body on stdin, read stdout, reap.', ''].join('\n');
}

function memorySection(results) {
  const out = ['## Start-up and memory', ''];
  const st = results.startup;
  if (st) {
    out.push(`- Start to first answered request (median of ${st.runs}): scriptserve ${ms(st.scriptserveMs)} ms; \`node -e 0\` start to exit ${ms(st.nodeMs)} ms (${fmt(st.scriptserveMs / st.nodeMs, 2)}×).`);
    out.push(`- scriptserve RSS 1 s after its first answer: ${fmt(st.idleRssMiB, 1)} MiB.`);
  }
  out.push('- Idle RSS of every server (after start-up and one request), MiB: ' + Object.values(results.servers).filter((s) => s.idle.length).map((s) => `${s.label} ${fmt(Math.min(...s.idle), 1)}`).join('; ') + '.');
  const big = results.big;
  if (big?.skipped) out.push(`- Big transfers: ${big.skipped}.`);
  else if (big) {
    out.push('- Big transfers: one client, each on a freshly started scriptserve; growth is peak RSS during the transfer minus RSS before it.');
    for (const [key, label] of [['download', `GET of a ${big.mib} MiB file`], ['post', `POST of ${big.mib} MiB through cgi-bin/echo-cat.sh (\`exec cat\`)`]]) {
      const r = big[key];
      if (!r) continue;
      if (r.error) out.push(`- ${label}: failed: ${r.error}`);
      else out.push(`- ${label}: ${fmt(r.bytes / 1048576)} MiB in ${fmt(r.seconds, 1)} s (${fmt(r.bytes / r.seconds / 1e6)} MB/s); scriptserve RSS ${fmt(r.beforeMiB, 1)} → peak ${fmt(r.peakMiB, 1)} MiB, growth **${fmt(r.growthMiB, 1)} MiB**.`);
    }
  }
  return [...out, ''].join('\n');
}

/** The whole report as Markdown. */
export function renderReport(results, scenarioList) {
  const m = results.meta;
  const head = [
    '# scriptserve benchmark',
    '',
    `Written by \`${m.command}\` on ${m.date}; do not edit by hand.`,
    '',
    `- scriptserve: ${m.scriptserve}.`,
    `- Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memGiB} GiB; ${m.os}.`,
    `- Node ${m.node}; Python ${m.pythonVersion} at \`${m.python}\` (python http.server and every Python script); ${m.lighttpd ?? 'lighttpd not installed'}.`,
    `- Load generator: ${m.loadgen}, pinned to core ${m.loadCpu}; servers (and the scripts they spawn) pinned to core ${m.serverCpu} with taskset.`,
    `- ${m.passes} alternating passes; ${m.connections.join(' and ')} connections; ${m.seconds} s per run; each run checks one response (status and exact body) first.${m.warmup > 0 ? ` Before a scenario's runs, every server gets ${m.warmup} s of unrecorded load at ${m.connections[0]} connections${m.scriptWarmup > 0 && m.scriptWarmup !== m.warmup ? ` (${m.scriptWarmup} s before a script scenario's, whose few hundred requests a second compile more slowly)` : ''} (Node servers are then measured with their request path compiled, not while compiling it).` : ''}`,
    `- Peers: ${m.peers}.`,
    `- Took ${fmt(m.elapsedS)} s.`,
    ...m.notes.map((n) => `- Note: ${n}`),
    '',
  ].join('\n');
  const legend = [
    'req/s counts only answers with the expected status, best pass shown; MB/s, p50 and p99 are from that pass; errors (socket errors, time-outs, wrong statuses) are summed over passes, ⚠ when over 1% of requests.',
    'Ratio to scriptserve is this row’s req/s ÷ scriptserve’s at the same connection count (below 1 means scriptserve is faster). RSS is the server process’s VmRSS: idle after start-up and one request, peak sampled every 100 ms during the runs (every scenario starts fresh servers).',
    '',
  ].join('\n');
  const tables = ['## Scenarios', '', legend, ...scenarioList.map((sc) => scenarioTable(results, sc))].join('\n');
  return [head, targets(results), cpuSection(results, scenarioList), tables, floorsSection(results), memorySection(results)].join('\n');
}
