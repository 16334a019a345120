// scripts/tap-failures.mjs: the failed tests `npm test` repeats at the end of
// its output, read from what `node --test` really prints for a fixture that
// fails on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { failedTests } from '../scripts/tap-failures.mjs';

// NODE_TEST_CONTEXT would make the inner runner report to this one instead.
const { NODE_TEST_CONTEXT: _, ...env } = process.env;
const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', 'test/fixtures/tap/sample.mjs'], { encoding: 'utf8', env });

test('each failed test is listed once, with its suites, its error and its diagnostics; passing tests and suites are not', () => {
  assert.equal(run.status, 1, run.stderr);
  const failures = failedTests(run.stdout);
  assert.deepEqual(failures.map((f) => f.name), ['outer suite > inner suite > fails with a diagnostic', 'fails at the top']);
  const [inner, top] = failures.map((f) => f.lines.join('\n'));
  assert.match(inner, /^ {8}not ok 1 - fails with a diagnostic\n/);
  assert.match(inner, /one is not two/);
  assert.match(inner, /\n {8}# sent 3, answered 2$/);
  assert.match(top, /^not ok \d+ - fails at the top\n/);
  assert.match(top, /boom/);
  assert.match(top, /\n {2}\.\.\.$/);
});

test('output without a failure lists nothing', () => {
  assert.deepEqual(failedTests('TAP version 13\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 1\n  ...\n1..1\n'), []);
  assert.deepEqual(failedTests(''), []);
});
