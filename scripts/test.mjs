// `npm test`'s two passes, run side by side: every test file cold, and the
// files listed in WARM_FILES again with SCRIPTSERVE_TEST_WARM=1, which makes
// every server the tests start through test/helpers.mjs (startServer,
// startCli) run with --warm-python. Most of a test file's time is spent
// waiting on scripts, timeouts and sockets, not on the CPU, so running the
// warm pass beside the cold one rather than after it keeps both cores busy.
// The cold pass's output is shown as it comes; the warm pass's after it; and
// last, every failed test of both passes again (scripts/tap-failures.mjs), so
// that the end of the output says what failed.
//
// Usage: node scripts/test.mjs [--cold | --warm]   (both when neither)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { failedTests } from './tap-failures.mjs';

/**
 * The files whose servers run Python scripts: only there does warm mode
 * change what is tested. The others (static files, paths, listings, parsers,
 * the CLI, sh-only scripts) would run the same tests a second time for
 * nothing, and warm.test.mjs chooses warm or cold for each of its servers
 * itself. A new test file that runs Python scripts through startServer or
 * startCli belongs here. Longest first, so the runners finish together.
 */
export const WARM_FILES = [
  'test/cgi.test.mjs', 'test/stress-fast.test.mjs', 'test/spawn-helper.test.mjs', 'test/browser.test.mjs',
  'test/workers.test.mjs', 'test/library.test.mjs', 'test/cgi-logging.test.mjs', 'test/recipe-python.test.mjs',
  'test/http2.test.mjs',
];

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_TEST = ['--test', '--test-concurrency=2', '--test-timeout=180000'];
const coldFiles = readdirSync(join(repo, 'test'))
  .filter((name) => name.endsWith('.test.mjs'))
  .sort()
  .map((name) => `test/${name}`);

/**
 * Run one pass; resolves its exit code, its output and its TAP report. The
 * output is the terminal's reporter (spec) on a terminal, else TAP; `show`:
 * it is shown as it comes (else only collected, for later). The TAP report,
 * written to a file of its own whatever the output's reporter, is what the
 * failed tests are read from.
 */
function runPass(name, files, env, show) {
  const tapFile = join(reportDir, `${name}.tap`);
  const reporters = [
    `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`, '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
  ];
  const child = spawn(process.execPath, [...NODE_TEST, ...reporters, ...files], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', show ? 'inherit' : 'pipe'],
  });
  const output = [];
  child.stdout.on('data', (chunk) => {
    output.push(chunk);
    if (show) process.stdout.write(chunk);
  });
  child.stderr?.on('data', (chunk) => output.push(chunk));
  return new Promise((resolve) => child.on('close', (code) => {
    let tap = '';
    try {
      tap = readFileSync(tapFile, 'utf8');
    } catch {
      // No report (the runner itself failed): its output says why.
    }
    resolve({ code: code ?? 1, text: Buffer.concat(output).toString(), tap });
  }));
}

/** Lists a pass's failed tests, whole, under one heading. */
function reportFailures(pass, text) {
  const failures = failedTests(text);
  if (failures.length === 0) return;
  process.stdout.write(`\n# ${pass} pass: ${failures.length} failed test(s), repeated from above:\n`);
  for (const { name, lines } of failures) process.stdout.write(`# FAILED: ${name}\n${lines.join('\n')}\n`);
}

const arg = process.argv[2];
const cold = arg !== '--warm';
const warm = arg !== '--cold';
const idle = { code: 0, text: '', tap: '' };
const reportDir = mkdtempSync(join(tmpdir(), 'scriptserve-test-reports-'));
const [coldRun, warmRun] = await Promise.all([
  cold ? runPass('cold', coldFiles, {}, true) : idle,
  warm ? runPass('warm', WARM_FILES, { SCRIPTSERVE_TEST_WARM: '1' }, !cold) : idle,
]);
rmSync(reportDir, { recursive: true, force: true });
if (cold && warm) {
  process.stdout.write(`\n# warm pass (SCRIPTSERVE_TEST_WARM=1): ${WARM_FILES.join(' ')}\n`);
  process.stdout.write(warmRun.text);
}
reportFailures('cold', coldRun.tap);
reportFailures('warm', warmRun.tap);
if (cold && warm) console.log(`# cold pass: ${coldRun.code === 0 ? 'passed' : 'FAILED'}; warm pass: ${warmRun.code === 0 ? 'passed' : 'FAILED'}`);
process.exit(coldRun.code || warmRun.code);
