// Render bench/results/latest.md again from latest.json with the current
// report code (after a change to bench/lib/report.mjs; no measurement).
//   node bench/render.mjs [path/to/latest.json]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFixtures } from './lib/fixtures.mjs';
import { renderReport } from './lib/report.mjs';
import { scenarios } from './lib/scenarios.mjs';
import { REPO } from './lib/servers.mjs';

const jsonPath = process.argv[2] ?? join(REPO, 'bench', 'results', 'latest.json');
const results = JSON.parse(readFileSync(jsonPath, 'utf8'));
const fx = createFixtures({ bigMiB: 0 });
try {
  const measured = new Set(results.runs.map((r) => r.scenario));
  const list = scenarios(fx).filter((sc) => measured.has(sc.id));
  writeFileSync(jsonPath.replace(/\.json$/, '.md'), renderReport(results, list));
} finally {
  rmSync(fx.work, { recursive: true, force: true });
}
