// The table of figures printed at the end of a stress run.

const COLUMNS = [
  ['#', (s) => s.id],
  ['category', (s) => s.name],
  ['sent', (s) => s.sent],
  ['answered', (s) => s.answered],
  ['max RSS MiB', (s) => s.maxRssMb ?? '-'],
  ['fds before/after', (s) => s.fds],
  ['leftover', (s) => s.leftover],
  ['zombies', (s) => s.zombies],
  ['GET p50/p99 ms', (s) => (s.p50 === null ? '-' : `${s.p50}/${s.p99} (n=${s.probes})`)],
  ['s', (s) => s.seconds],
  ['result', (s) => (s.failures ? `FAIL ${s.failures}` : 'ok')],
];

/** A plain-text table of the categories' figures, then statuses, notes and failed checks. */
export function formatTable(categories, { scale, seconds }) {
  const rows = categories.map((c) => c.summary());
  const cells = [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => String(f(r))))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (i <= 1 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const out = [`scriptserve stress figures (${scale} scale, ${seconds.toFixed(1)} s)`, line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of cells.slice(1)) out.push(line(row));
  out.push('', 'statuses seen:');
  for (const r of rows) out.push(`  ${String(r.id).padStart(2)} ${r.statuses || '-'}`);
  const notes = categories.flatMap((c) => c.notes.map((n) => `  ${String(c.id).padStart(2)} ${n}`));
  if (notes.length) out.push('', 'notes:', ...notes);
  const failures = categories.flatMap((c) => c.failures.map((f) => `  ${String(c.id).padStart(2)} ${f}`));
  if (failures.length) {
    out.push('', 'FAILED CHECKS:', ...failures);
    const hidden = categories.reduce((n, c) => n + c.failureCount - c.failures.length, 0);
    if (hidden) out.push(`  … and ${hidden} more`);
  }
  const total = categories.reduce((n, c) => n + c.failureCount, 0);
  out.push('', total ? `${total} check(s) failed` : 'all checks passed');
  return out.join('\n');
}
