// Copy the generated tables of bench/results/latest.md (its targets, where a
// script request's CPU goes, and some scenarios) into docs/benchmarks.md
// (between `<!-- bench:start -->` and `<!-- bench:end -->`), and a few rows of
// its targets into README.md's "Speed" summary (between
// `<!-- bench:summary:start -->` and `<!-- bench:summary:end -->`), so the
// documentation quotes the benchmark without hand-edited numbers.
// Usage: node bench/readme.mjs   (npm run bench:readme)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const latest = readFileSync(join(repo, 'bench', 'results', 'latest.md'), 'utf8');
const lines = latest.split('\n');

/** The lines of `## title` or `### title` up to the next heading of the same or a higher level. */
function section(title) {
  const start = lines.findIndex((l) => /^#{2,3} /.test(l) && l.replace(/^#+ /, '').startsWith(title));
  if (start < 0) throw new Error(`no section "${title}" in latest.md`);
  const level = lines[start].match(/^#+/)[0].length;
  let end = start + 1;
  while (end < lines.length && !(lines[end].match(/^#+ /) && lines[end].match(/^#+/)[0].length <= level)) end++;
  return lines.slice(start + 1, end).join('\n').trim();
}

/** Replace what lies between two marker lines of a file with body. */
function fill(rel, start, end, body) {
  const path = join(repo, rel);
  const text = readFileSync(path, 'utf8');
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${rel} has no ${start} ... ${end} markers`);
  writeFileSync(path, text.slice(0, i + start.length) + '\n' + body + '\n' + text.slice(j));
  console.log(`${rel}: updated from bench/results/latest.md`);
}

const firstSection = lines.findIndex((l) => l.startsWith('## '));
// Everything before the first section: the date line and every note, however many there are.
const headerLines = lines.slice(2, firstSection < 0 ? undefined : firstSection).filter((l) => l.startsWith('Written by') || l.startsWith('- '));
const targets = section('Targets');
const cpu = section('Where a script request’s CPU goes');
const scenarios = ['GET 1 KiB file', 'Missing file (404)', 'Directory listing, 200 entries', 'POST 16 bytes to a /bin/sh CGI script', 'POST 16 bytes to a Python CGI script', 'GET a 100 KiB text file compressed'];

fill('docs/benchmarks.md', '<!-- bench:start -->', '<!-- bench:end -->', [
  headerLines.join('\n'),
  '',
  '## Targets',
  '',
  targets,
  '',
  '## Where a script request’s CPU goes',
  '',
  cpu,
  ...scenarios.flatMap((title) => ['', `## ${title}`, '', section(title)]),
  '',
  'Every scenario, with MB/s and RSS for each server: [bench/results/latest.md](../bench/results/latest.md).',
].join('\n'));

// The README's summary: the targets a newcomer asks about first, met or not, one row each.
const SUMMARY_ROWS = [
  'GET 1 KiB: scriptserve ÷ sirv-cli',
  '404: scriptserve ÷ sirv-cli',
  'Listing: scriptserve ÷ python http.server',
  'Python CGI: scriptserve ÷ python --cgi',
  'Issue 15: /bin/sh CGI: scriptserve ÷ lighttpd',
  "Issue 15: Node's own CPU per /bin/sh CGI request, spawn helper (scriptserve)",
  "Issue 15: Node's own CPU per /bin/sh CGI request: floor (node:http + one helper connection) (context)",
  'Issue 15: warm Python hello ÷ lighttpd',
  'Issue 15: warm Python floor (fork and run precompiled hello.py, no server) ÷ lighttpd (context: the most a warm server could reach here)',
  'Issue 18: GET 1 KiB over TLS, HTTP/1.1 keep-alive ÷ plain HTTP',
  'Issue 18: compressed 100 KiB text (cached) ÷ its uncompressed GET (same process, measured alternately)',
  'scriptserve idle RSS',
];
const targetLines = targets.split('\n');
const tableStart = targetLines.findIndex((l) => l.startsWith('| target |'));
if (tableStart < 0) throw new Error('no targets table in latest.md');
const rows = SUMMARY_ROWS.map((name) => {
  const row = targetLines.find((l) => l.startsWith(`| ${name} |`));
  if (!row) throw new Error(`no target "${name}" in latest.md: update SUMMARY_ROWS in bench/readme.mjs`);
  return row;
});
const written = headerLines.find((l) => l.startsWith('Written by')) ?? '';
const when = written.match(/on (\S+?);/)?.[1] ?? 'the last run';
const commit = headerLines.join('\n').match(/from commit (\w+)/)?.[1];
fill('README.md', '<!-- bench:summary:start -->', '<!-- bench:summary:end -->', [
  `From \`npm run bench\` on ${when}${commit ? ` (commit ${commit})` : ''}; do not edit by hand (\`npm run bench:readme\` writes it). All targets and tables: [docs/benchmarks.md](docs/benchmarks.md).`,
  '',
  ...targetLines.slice(tableStart, tableStart + 2),
  ...rows,
].join('\n'));
