// `npm run conformance`: run the external RFC conformance suite against the
// built CLI. The suite is not part of this repository: it lives next to the
// clone, in ../shared/conformance/conformance.py (or wherever
// SCRIPTSERVE_CONFORMANCE points). When it is missing, say where it was looked
// for and exit 1, rather than letting python3 print a traceback: a fresh clone
// without the suite has nothing to run, and a run that did not happen must not
// pass for a green one.
// Arguments after `--` go to the suite: `npm run conformance -- --only cgi.`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const suite = resolve(repo, process.env.SCRIPTSERVE_CONFORMANCE ?? join('..', 'shared', 'conformance', 'conformance.py'));
const server = 'node dist/cli.js --bind 127.0.0.1 --port {port} -d {root}';

if (!existsSync(suite)) {
  console.error(`npm run conformance: the conformance suite is not in this repository and was not found at
  ${suite}
Put conformance.py there (the clone's sibling directory shared/conformance/), or set
SCRIPTSERVE_CONFORMANCE=/path/to/conformance.py. Nothing was run.`);
  process.exit(1);
}

const run = spawnSync('python3', [suite, '--server', server, ...process.argv.slice(2)], { cwd: repo, stdio: 'inherit' });
if (run.error) {
  console.error(`npm run conformance: could not start python3 (${run.error.message}); the suite needs Python 3.11 or later in PATH.`);
  process.exit(1);
}
process.exit(run.status ?? 1);
