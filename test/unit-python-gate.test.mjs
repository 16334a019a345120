// The gate of the helper processes (src/cgi/start/python-gate.ts): which
// platforms and interpreters they run on, and the ready line that reports
// the interpreter. Pure functions, one row per case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TESTED_PYTHON_VERSIONS, parseReadyLine, platformRefusal, pythonRefusal } from '../dist/cgi/start/python-gate.js';

test('the tested versions are major.minor, in order, and include Debian 12\'s python3 (3.11)', () => {
  for (const v of TESTED_PYTHON_VERSIONS) assert.match(v, /^3\.\d+$/);
  const minors = TESTED_PYTHON_VERSIONS.map((v) => Number(v.split('.')[1]));
  assert.deepEqual(minors, [...minors].sort((a, b) => a - b));
  assert.ok(TESTED_PYTHON_VERSIONS.includes('3.11'));
});

test('pythonRefusal: only CPython of a tested minor version passes', () => {
  const rows = [
    ['cpython', '3.11.2', true],
    ['cpython', '3.11.7', true],
    ['cpython', `${TESTED_PYTHON_VERSIONS[0]}.0`, true],
    ['cpython', `${TESTED_PYTHON_VERSIONS.at(-1)}.9`, true],
    ['cpython', '3.9.18', false], // no sys.orig_argv
    ['cpython', '2.7.18', false],
    ['cpython', '3.99.0', false], // a future version is untested until its tests pass
    ['cpython', '3.1.0', false], // not 3.10 by prefix
    ['pypy', '3.11.2', false],
    ['graalpy', '3.11.7', false],
    ['', '', false],
  ];
  for (const [implementation, version, ok] of rows) {
    const why = pythonRefusal({ implementation, version });
    if (ok) assert.equal(why, null, `${implementation} ${version}`);
    else assert.match(why, / is not a tested interpreter \(CPython 3\.\d+(, 3\.\d+)*\)$/, `${implementation} ${version}`);
  }
  assert.ok(pythonRefusal({ implementation: 'cpython', version: '3.9.18' }).startsWith('CPython 3.9.18 '));
  assert.ok(pythonRefusal({ implementation: 'pypy', version: '3.11.2' }).startsWith('pypy 3.11.2 '));
});

test('parseReadyLine: job, implementation and version, or null', () => {
  const rows = [
    ['ready spawn cpython 3.11.2', { job: 'spawn', implementation: 'cpython', version: '3.11.2' }],
    ['ready fork cpython 3.13.0', { job: 'fork', implementation: 'cpython', version: '3.13.0' }],
    ['ready - cpython 3.11.2', { job: '-', implementation: 'cpython', version: '3.11.2' }],
    ['ready', null], // what the helper said before it reported its interpreter
    ['ready spawn', null],
    ['ready spawn cpython 3.11', null],
    ['ready spawn cpython 3.11.2 extra', null],
    ['spawned x 12', null],
  ];
  for (const [line, want] of rows) assert.deepEqual(parseReadyLine(line), want, line);
});

test('platformRefusal: Linux only, and the reason names the platform', () => {
  assert.equal(platformRefusal('linux'), null);
  for (const platform of ['darwin', 'freebsd', 'win32']) assert.match(platformRefusal(platform), new RegExp(`needs Linux.*${platform}$`));
});
