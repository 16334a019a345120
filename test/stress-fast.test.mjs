// The fast subset of the stress suite (test/stress/): every category of
// issue 5 (hostile input, faults, load) scaled down, run against the built
// CLI as child processes. Checks are the same as in `npm run test:stress`;
// figures are printed as diagnostics, never asserted (timing varies).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CATEGORIES } from './stress/categories.mjs';

// Three categories at a time: most of their time is spent waiting on timeouts and scripts.
describe('stress (fast subset of npm run test:stress)', { concurrency: 3 }, () => {
  for (const c of CATEGORIES) {
    test(`${c.id}. ${c.name}`, async (t) => {
      const cat = await c.run('fast');
      const s = cat.summary();
      t.diagnostic(
        `sent ${s.sent}, answered ${s.answered}, statuses ${s.statuses || '-'}, max RSS ${s.maxRssMb} MiB, fds ${s.fds}, ` +
          `leftover ${s.leftover}, zombies ${s.zombies}, GET p50/p99 ${s.p50 ?? '-'}/${s.p99 ?? '-'} ms, ${s.seconds} s`,
      );
      for (const note of cat.notes) t.diagnostic(note);
      assert.deepEqual(cat.failures, [], `${cat.failureCount} check(s) failed`);
    });
  }
});
