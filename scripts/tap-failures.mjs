// The failed tests in the TAP text `node --test` prints, each with its
// diagnostic block, so that `npm test` can repeat them at the very end of its
// output: a CI log shown by its tail then still says what failed, even when
// the failure scrolled past long before (the cold pass prints first).

const SUBTEST = /^(\s*)# Subtest: (.*)$/;
const RESULT = /^(\s*)(not ok|ok) \d+ - (.*)$/;

/**
 * Returns one entry per failed test: `name` (its suites and its own name,
 * joined by " > ") and `lines` (its `not ok` line, its YAML block and the
 * diagnostics printed right after it). A suite that failed only because a
 * test inside it failed is left out: that test is listed.
 * @param {string} text
 * @returns {{ name: string, lines: string[] }[]}
 */
export function failedTests(text) {
  const lines = text.split('\n');
  const path = []; // names of the open subtests, by depth (4 spaces a level)
  const failures = [];
  for (let i = 0; i < lines.length; i++) {
    const subtest = SUBTEST.exec(lines[i]);
    if (subtest) {
      const depth = subtest[1].length / 4;
      path.length = depth;
      path[depth] = subtest[2];
      continue;
    }
    const result = RESULT.exec(lines[i]);
    if (!result || result[2] !== 'not ok') continue;
    const indent = result[1];
    const depth = indent.length / 4;
    const block = [lines[i]];
    let j = i + 1;
    if (lines[j] === `${indent}  ---`) {
      while (j < lines.length && lines[j] !== `${indent}  ...`) block.push(lines[j++]);
      if (j < lines.length) block.push(lines[j++]);
    }
    // Diagnostics (t.diagnostic) follow the block at the test's own indent.
    while (j < lines.length && lines[j].startsWith(`${indent}# `) && !SUBTEST.test(lines[j])) block.push(lines[j++]);
    i = j - 1;
    if (block.some((line) => line === `${indent}  failureType: 'subtestsFailed'`)) continue;
    const parents = path.slice(0, depth).filter((name) => name !== undefined);
    failures.push({ name: [...parents, result[3]].join(' > '), lines: block });
  }
  return failures;
}
