// Copy the generated tables of bench/results/latest.md into README.md,
// between the `<!-- bench:start -->` and `<!-- bench:end -->` markers, so the
// README quotes the benchmark without hand-edited numbers.
// Usage: node bench/readme.mjs   (npm run bench:readme)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const latest = readFileSync(join(repo, 'bench', 'results', 'latest.md'), 'utf8');
const readmePath = join(repo, 'README.md');
const readme = readFileSync(readmePath, 'utf8');

/** The lines of `## title` or `### title` up to the next heading of the same or a higher level. */
function section(title) {
  const lines = latest.split('\n');
  const start = lines.findIndex((l) => /^#{2,3} /.test(l) && l.replace(/^#+ /, '').startsWith(title));
  if (start < 0) throw new Error(`no section "${title}" in latest.md`);
  const level = lines[start].match(/^#+/)[0].length;
  let end = start + 1;
  while (end < lines.length && !(lines[end].match(/^#+ /) && lines[end].match(/^#+/)[0].length <= level)) end++;
  return lines.slice(start + 1, end).join('\n').trim();
}

const lines = latest.split('\n');
const firstSection = lines.findIndex((l) => l.startsWith('## '));
// Everything before the first section: the date line and every note, however many there are.
const header = lines.slice(2, firstSection < 0 ? undefined : firstSection).filter((l) => l.startsWith('Written by') || l.startsWith('- ')).join('\n');
const scenarios = ['GET 1 KiB file', 'Missing file (404)', 'Directory listing, 200 entries', 'POST 16 bytes to a /bin/sh CGI script', 'POST 16 bytes to a Python CGI script'];
const body = [
  header,
  '',
  '#### Targets',
  '',
  section('Targets of issue 6'),
  ...scenarios.flatMap((title) => ['', `#### ${title}`, '', section(title)]),
  '',
  'Every scenario, with MB/s and RSS for each server: [bench/results/latest.md](bench/results/latest.md).',
].join('\n');

const start = '<!-- bench:start -->';
const end = '<!-- bench:end -->';
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i < 0 || j < i) throw new Error('README.md has no bench markers');
writeFileSync(readmePath, readme.slice(0, i + start.length) + '\n' + body + '\n' + readme.slice(j));
console.log('README.md: benchmark tables updated from bench/results/latest.md');
