// npm run test:stress: every category of the stress suite at full scale
// against the built CLI, on loopback only, bounded in time; prints a table of
// figures and exits non-zero if any check failed.
//   node test/stress/run.mjs            all categories, full scale
//   node test/stress/run.mjs 1 7        only categories 1 and 7
//   node test/stress/run.mjs --fast     the scale npm test uses
//   STRESS_SEED=N                       replay the path fuzzer's targets
import { CATEGORIES } from './categories.mjs';
import { formatTable } from './report.mjs';

/** The whole run stops here whatever happens (categories have their own, smaller budgets). */
const RUN_BUDGET_MS = 9 * 60 * 1000;

const args = process.argv.slice(2);
const scale = args.includes('--fast') ? 'fast' : 'full';
const only = new Set(args.filter((a) => /^\d+$/.test(a)).map(Number));
const selected = CATEGORIES.filter((c) => only.size === 0 || only.has(c.id));

const killer = setTimeout(() => {
  process.stderr.write(`stress: the run exceeded ${RUN_BUDGET_MS / 1000} s; giving up\n`);
  process.exit(2);
}, RUN_BUDGET_MS);
killer.unref();

const started = Date.now();
const results = [];
for (const c of selected) {
  process.stdout.write(`[${c.id}] ${c.name} …`);
  const cat = await c.run(scale);
  results.push(cat);
  process.stdout.write(` ${cat.failureCount ? `FAILED (${cat.failureCount})` : 'ok'} in ${(cat.ms / 1000).toFixed(1)} s\n`);
}
process.stdout.write('\n' + formatTable(results, { scale, seconds: (Date.now() - started) / 1000 }) + '\n');
const failed = results.filter((c) => c.failureCount > 0);
process.exitCode = failed.length ? 1 : 0;
clearTimeout(killer);
