// The listing and the error pages in Debian's Chromium (playwright-core),
// issue 17: sorting by each column with and without JavaScript, the filter,
// breadcrumbs, keyboard navigation, the dark theme, a README whose <script>
// does not run, the tar download's contents, and a styled 404 whose link
// leads back. Skipped with a note without Chromium, except in CI.
import assert from 'node:assert/strict';
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { extract } from 'tar-stream';
import { CHROMIUM, launchChromium, needProgram, rmSync, startServer, tempDir, writeTree } from './helpers.mjs';

// Skipped with a note where Chromium is missing; a failure in CI, where .ci/run installs it.
const skip = needProgram(CHROMIUM, 'chromium');
/** Every wait in the browser has this deadline (a timeout, never an assertion about time). */
const WAIT_MS = 10000;

describe('listing in Chromium', { skip }, () => {
  let base;
  let srv;
  let url;
  let browser;
  let context;
  let noJs;
  const cspErrors = [];

  before(async () => {
    base = tempDir('scriptserve-listing-browser-');
    const root = join(base, 'www');
    writeTree(base, {
      'www/docs/file10.txt': 'ten\n'.repeat(10),
      'www/docs/file2.txt': 'two\n'.repeat(500),
      'www/docs/File1.txt': 'one\n'.repeat(100),
      'www/docs/beta/x.txt': 'x\n',
      'www/docs/Alpha/y.txt': 'y\n',
      'www/docs/README.md': '# Docs\n\nSome *notes*.\n\n<script>window.__pwned = true; document.title = "pwned"</script>\n\n<img src=x onerror="window.__pwned = true">\n\n[bad](javascript:window.__pwned=true)\n',
      'www/docs/deep/er/leaf.txt': 'leaf\n',
    });
    const t = (s) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));
    utimesSync(join(root, 'docs/file10.txt'), t(30), t(30));
    utimesSync(join(root, 'docs/file2.txt'), t(10), t(10));
    utimesSync(join(root, 'docs/File1.txt'), t(20), t(20));
    srv = await startServer({ root, archives: true, cgi: false });
    url = (path) => srv.base + path;
    browser = await launchChromium();
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1000, height: 800 } });
    context.setDefaultTimeout(WAIT_MS);
    context.on('console', (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) cspErrors.push(msg.text());
    });
    noJs = await browser.newContext({ javaScriptEnabled: false });
    noJs.setDefaultTimeout(WAIT_MS);
  });

  after(async () => {
    await browser?.close();
    await srv?.close();
    if (base) rmSync(base, { recursive: true, force: true });
  });

  /** The names in the table, in order, as shown (visible rows only, without ../). */
  const shownNames = (page) =>
    page.$$eval('tbody tr:not([hidden]) a', (as) => as.map((a) => a.textContent).filter((t) => t !== '../'));

  const BY_COLUMN = [
    ['Name', 'desc', ['deep/', 'beta/', 'Alpha/', 'README.md', 'file10.txt', 'file2.txt', 'File1.txt']],
    ['Size', 'desc', ['Alpha/', 'beta/', 'deep/', 'file2.txt', 'File1.txt', 'README.md', 'file10.txt']],
    ['Modified', 'desc', null],
  ];

  for (const js of [true, false]) {
    test(`sorting by each column with JavaScript ${js ? 'on' : 'off'}`, async () => {
      const page = await (js ? context : noJs).newPage();
      try {
        await page.goto(url('/docs/'));
        assert.deepEqual(await shownNames(page), ['Alpha/', 'beta/', 'deep/', 'File1.txt', 'file2.txt', 'file10.txt', 'README.md']);
        for (const [column, order, want] of BY_COLUMN) {
          const key = { Name: 'name', Size: 'size', Modified: 'mtime' }[column];
          const at = (k, o) => (u) => u.searchParams.get('sort') === k && u.searchParams.get('order') === o;
          await Promise.all([page.waitForURL(at(key, order)), page.click(`th a:has-text("${column}")`)]);
          const q = new URL(page.url()).searchParams;
          assert.equal(q.get('sort'), key);
          assert.equal(q.get('order'), order);
          const names = await shownNames(page);
          if (want) assert.deepEqual(names, want, column);
          if (column === 'Modified') {
            // Newest first; README.md was written just now.
            assert.deepEqual(names.slice(3), ['README.md', 'file10.txt', 'File1.txt', 'file2.txt']);
          }
          assert.equal(await page.getAttribute('th[aria-sort]', 'aria-sort'), 'descending');
          // Clicking the current column again flips it.
          await Promise.all([page.waitForURL(at(key, 'asc')), page.click(`th[aria-sort] a`)]);
          assert.equal(await page.getAttribute('th[aria-sort]', 'aria-sort'), 'ascending');
          const flipped = await shownNames(page);
          const dirs = flipped.filter((n) => n.endsWith('/')).length;
          assert.equal(dirs, 3, 'directories stay first');
        }
      } finally {
        await page.close();
      }
    });
  }

  test('the filter narrows as you type; without JavaScript the form asks the server', async () => {
    const page = await context.newPage();
    try {
      await page.goto(url('/docs/'));
      await page.fill('#q', 'FILE1');
      assert.deepEqual(await shownNames(page), ['File1.txt', 'file10.txt']);
      assert.match(await page.textContent('#count'), /^2 of 7 shown$/);
      await page.fill('#q', '');
      assert.equal((await shownNames(page)).length, 7);
    } finally {
      await page.close();
    }
    const plain = await noJs.newPage();
    try {
      await plain.goto(url('/docs/?sort=size&order=desc'));
      await plain.fill('#q', 'file');
      await Promise.all([plain.waitForURL(/q=file/), plain.press('#q', 'Enter')]);
      const q = new URL(plain.url()).searchParams;
      assert.equal(q.get('sort'), 'size', 'the sort survives the filter');
      assert.deepEqual(await shownNames(plain), ['file2.txt', 'File1.txt', 'file10.txt']);
    } finally {
      await plain.close();
    }
  });

  test('breadcrumbs lead to every ancestor', async () => {
    const page = await context.newPage();
    try {
      await page.goto(url('/docs/deep/er/'));
      assert.equal((await page.textContent('h1')).trim(), 'Index of /docs/deep/er/');
      const crumbs = await page.$$eval('h1 a', (as) => as.map((a) => [a.textContent, new URL(a.href).pathname]));
      assert.deepEqual(crumbs, [['/', '/'], ['docs/', '/docs/'], ['deep/', '/docs/deep/'], ['er/', '/docs/deep/er/']]);
      await Promise.all([page.waitForURL(url('/docs/')), page.click('h1 a:text-is("docs/")')]);
      assert.ok((await shownNames(page)).includes('README.md'));
    } finally {
      await page.close();
    }
  });

  test('keyboard: / focuses the filter, arrows move through entries, Enter opens', async () => {
    const page = await context.newPage();
    try {
      await page.goto(url('/docs/'));
      await page.keyboard.press('/');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'q');
      const focused = () => page.evaluate(() => document.activeElement.textContent);
      await page.keyboard.press('ArrowDown');
      assert.equal(await focused(), '../');
      await page.keyboard.press('ArrowDown');
      assert.equal(await focused(), 'Alpha/');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      assert.equal(await focused(), 'deep/');
      await page.keyboard.press('ArrowUp');
      assert.equal(await focused(), 'beta/');
      // Arrows follow the filter: only visible entries.
      await page.keyboard.press('/');
      await page.keyboard.type('file1');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      assert.equal(await focused(), 'File1.txt');
      await page.keyboard.press('ArrowDown');
      assert.equal(await focused(), 'file10.txt');
      await Promise.all([page.waitForURL(url('/docs/file10.txt')), page.keyboard.press('Enter')]);
      assert.match(await page.textContent('body'), /ten/);
    } finally {
      await page.close();
    }
  });

  test('light and dark themes follow prefers-color-scheme; local times replace UTC', async () => {
    const page = await context.newPage();
    try {
      const colours = () => page.evaluate(() => [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]);
      await page.emulateMedia({ colorScheme: 'light' });
      await page.goto(url('/docs/'));
      assert.deepEqual(await colours(), ['rgb(255, 255, 255)', 'rgb(31, 35, 40)']);
      await page.emulateMedia({ colorScheme: 'dark' });
      assert.deepEqual(await colours(), ['rgb(13, 17, 23)', 'rgb(230, 237, 243)']);
      assert.equal(await page.textContent('#tz'), '(local)');
      // Readable at 390 px: nothing wider than the viewport.
      await page.setViewportSize({ width: 390, height: 800 });
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'no horizontal scroll at 390 px');
    } finally {
      await page.close();
    }
  });

  test('the README is rendered and its <script> does not run', async () => {
    const page = await context.newPage();
    try {
      await page.goto(url('/docs/'));
      assert.equal(await page.textContent('.readme h1'), 'Docs');
      assert.equal(await page.textContent('.readme em'), 'notes');
      assert.match(await page.textContent('.readme'), /<script>window.__pwned = true/);
      assert.equal(await page.locator('.readme script, .readme img').count(), 0);
      assert.equal(await page.locator('.readme a').count(), 0, 'the javascript: link lost its URL');
      assert.equal(await page.evaluate(() => window.__pwned), undefined);
      assert.equal(await page.title(), 'Index of /docs/');
      assert.deepEqual(cspErrors, [], 'the page\'s own script and style pass its CSP');
    } finally {
      await page.close();
    }
  });

  test('the tar download holds the folder', async () => {
    const page = await context.newPage();
    try {
      await page.goto(url('/docs/deep/'));
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('a.dl')]);
      assert.equal(download.suggestedFilename(), 'deep.tar');
      const bytes = readFileSync(await download.path());
      const names = [];
      const ex = extract();
      const done = new Promise((resolve, reject) => {
        ex.on('entry', (header, stream, next) => {
          let text = '';
          stream.on('data', (c) => (text += c));
          stream.on('end', () => {
            names.push([header.name, text]);
            next();
          });
        });
        ex.on('finish', resolve);
        ex.on('error', reject);
      });
      ex.end(bytes);
      await done;
      assert.deepEqual(names, [['deep/', ''], ['deep/er/', ''], ['deep/er/leaf.txt', 'leaf\n']]);
    } finally {
      await page.close();
    }
  });

  test('a 404 is styled like the listing and links back to the nearest folder', async () => {
    const page = await context.newPage();
    try {
      await page.emulateMedia({ colorScheme: 'dark' });
      const res = await page.goto(url('/docs/deep/missing/page.html'));
      assert.equal(res.status(), 404);
      assert.equal(await page.textContent('h1'), '404 Not Found');
      assert.equal(await page.textContent('p'), 'Nothing is served at this address.');
      const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(bg, 'rgb(13, 17, 23)', 'the dark theme');
      await Promise.all([page.waitForURL(url('/docs/deep/')), page.click('text=Back to /docs/deep/')]);
      assert.equal((await page.textContent('h1')).trim(), 'Index of /docs/deep/');
      assert.deepEqual(cspErrors, []);
    } finally {
      await page.close();
    }
  });
});
