// The warm pass of `npm test` (`npm run test:warm-only`): the test files
// again with SCRIPTSERVE_TEST_WARM=1, which makes every server the tests start
// through test/helpers.mjs (startServer, startCli) run with --warm-python.
// That changes something only where such a server runs a Python script, so
// only those files are listed; the others (static files, paths, listings,
// parsers, sh-only scripts, the CLI) would run the same tests a second time
// for nothing. warm.test.mjs is not listed either: it chooses warm or cold
// for each of its servers itself.
// A new test file that runs Python scripts through startServer/startCli
// belongs here.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Longest first, so the two runners finish together. */
export const WARM_FILES = [
  'test/cgi.test.mjs',
  'test/stress-fast.test.mjs',
  'test/spawn-helper.test.mjs',
  'test/browser.test.mjs',
];

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=180000', ...WARM_FILES], {
  cwd: repo,
  stdio: 'inherit',
  env: { ...process.env, SCRIPTSERVE_TEST_WARM: '1' },
});
process.exit(run.status ?? 1);
