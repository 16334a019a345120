// `npm test`'s two passes, run side by side: every test file cold, and the
// files listed in WARM_FILES again with SCRIPTSERVE_TEST_WARM=1, which makes
// every server the tests start through test/helpers.mjs (startServer,
// startCli) run with --warm-python. Most of a test file's time is spent
// waiting on scripts, timeouts and sockets, not on the CPU, so running the
// warm pass beside the cold one rather than after it keeps both cores busy.
// The cold pass's output is shown as it comes; the warm pass's after it.
//
// Usage: node scripts/test.mjs [--cold | --warm]   (both when neither)
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Run one pass; resolves its exit code. `buffer` collects its output instead of showing it. */
function runPass(files, env, buffer) {
  // Buffered output is no terminal, but is shown on one: keep the reporter the terminal would get.
  const reporter = buffer && process.stdout.isTTY ? ['--test-reporter=spec'] : [];
  const child = spawn(process.execPath, [...NODE_TEST, ...reporter, ...files], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: buffer ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
  });
  if (buffer) {
    child.stdout.on('data', (chunk) => buffer.push(chunk));
    child.stderr.on('data', (chunk) => buffer.push(chunk));
  }
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

const arg = process.argv[2];
const cold = arg !== '--warm';
const warm = arg !== '--cold';
const warmOutput = [];
const [coldCode, warmCode] = await Promise.all([
  cold ? runPass(coldFiles, {}, null) : 0,
  warm ? runPass(WARM_FILES, { SCRIPTSERVE_TEST_WARM: '1' }, cold ? warmOutput : null) : 0,
]);
if (warmOutput.length > 0) {
  process.stdout.write(`\n# warm pass (SCRIPTSERVE_TEST_WARM=1): ${WARM_FILES.join(' ')}\n`);
  process.stdout.write(Buffer.concat(warmOutput));
}
if (cold && warm) console.log(`# cold pass: ${coldCode === 0 ? 'passed' : 'FAILED'}; warm pass: ${warmCode === 0 ? 'passed' : 'FAILED'}`);
process.exit(coldCode || warmCode);
