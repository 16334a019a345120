// Regenerate the screenshots the README shows (issue 17): the listing in the
// light and dark themes, the listing at 390 px, and a 404 page. Serves a small
// demo folder with the built library (run `npm run build` first) and drives
// Debian's Chromium through playwright-core.
//
// Usage: node scripts/screenshots.mjs [OUTPUT_DIR]   (default: docs/)
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { createServer } from '../dist/index.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? join(repo, 'docs');
const CHROMIUM = '/usr/bin/chromium';

const DEMO = {
  'photos/beach.jpg': 180_000,
  'photos/mountain.png': 2_400_000,
  'src/main.py': 2_100,
  'src/util.js': 5_300,
  'notes/2024-01.md': 900,
  'archive.tar.gz': 12_800_000,
  'chapter 2.pdf': 340_000,
  'chapter 10.pdf': 510_000,
  'data.csv': 48_000,
  'song.mp3': 4_200_000,
  'todo.txt': 312,
};
const README = `# Project files

Everything for the **spring release**: photos, sources and the printed chapters.

- Start with \`chapter 2.pdf\`, then \`chapter 10.pdf\` (natural order keeps them in sequence).
- Sources are in [src/](src/); the release notes live on [the website](https://example.com/release).

\`\`\`sh
npx scriptserve --archives .
\`\`\`
`;

const root = mkdtempSync(join(tmpdir(), 'scriptserve-shots-'));
const server = createServer({ root, archives: true, cgi: false });
try {
  const base = new Date(Date.UTC(2024, 4, 6, 9, 30));
  Object.entries(DEMO).forEach(([name, size], i) => {
    const path = join(root, 'spring-release', name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, Buffer.alloc(size, 32));
    const t = new Date(base.getTime() - i * 37 * 3600_000);
    utimesSync(path, t, t);
  });
  writeFileSync(join(root, 'spring-release', 'README.md'), README);
  for (const [i, name] of ['README.md', 'notes', 'photos', 'src'].entries()) {
    const t = new Date(base.getTime() + (i + 1) * 3600_000);
    utimesSync(join(root, 'spring-release', name), t, t);
  }
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const shots = [
      ['listing-light.png', 'light', { width: 1000, height: 760 }, '/spring-release/'],
      ['listing-dark.png', 'dark', { width: 1000, height: 760 }, '/spring-release/'],
      ['listing-mobile.png', 'light', { width: 390, height: 760 }, '/spring-release/?sort=size&order=desc'],
      ['error-404.png', 'dark', { width: 800, height: 420 }, '/spring-release/photos/missing.jpg'],
    ];
    for (const [file, scheme, viewport, path] of shots) {
      const page = await browser.newPage({ viewport, colorScheme: scheme, timezoneId: 'Europe/Paris', locale: 'en-GB' });
      await page.goto(url + path);
      await page.screenshot({ path: join(out, file), fullPage: file.startsWith('listing') });
      await page.close();
      console.log(join(out, file));
    }
  } finally {
    await browser.close();
  }
} finally {
  server.close();
  rmSync(root, { recursive: true, force: true });
}
