// Browser tests: Debian's Chromium driven by playwright-core against the
// bundled example site, served by the real CLI. `.ci/run` installs Chromium;
// on a machine without it these tests are skipped with a note, except in CI,
// where a missing browser is a failure.
import assert from 'node:assert/strict';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CHROMIUM, launchChromium, needProgram, PYTHON, rmSync, ROOT_DIR, startCli, startServer, tempDir, writeTree } from './helpers.mjs';

// Skipped with a note where Chromium is missing; a failure in CI, where .ci/run installs it.
const skip = needProgram(CHROMIUM, 'chromium');

describe('example site in Chromium', { skip }, () => {
  let cli;
  let browser;
  let page;
  let base;

  before(async () => {
    cli = await startCli(['--port', '0', '-q', join(ROOT_DIR, 'examples', 'site')]);
    base = `http://127.0.0.1:${cli.port}`;
    browser = await launchChromium();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await cli?.stop();
  });

  test('the form POSTs to a Python CGI script and shows its escaped answer', async () => {
    await page.goto(base + '/');
    assert.equal(await page.title(), 'scriptserve example site');
    await page.fill('input[name=name]', 'Grace <b>Hopper</b>');
    await page.fill('textarea[name=message]', 'It is easier to ask forgiveness & "than" permission');
    await Promise.all([page.waitForURL(base + '/cgi-bin/form.py'), page.click('button[type=submit]')]);
    assert.equal(await page.textContent('h1'), 'Thanks, Grace <b>Hopper</b>!');
    assert.equal(await page.textContent('#message'), 'It is easier to ask forgiveness & "than" permission');
    assert.match(await page.textContent('body'), /Method: POST/);
    // The escaped name is text, not markup: no <b> element was created.
    assert.equal(await page.locator('h1 b').count(), 0);
    const shots = join(ROOT_DIR, 'test', '.screenshots');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'form-answer.png') });
  });

  test('every link of a listing opens the right file, including spaces and unicode', async () => {
    const response = await page.goto(base + '/files/');
    assert.equal(response.status(), 200);
    const links = await page.$$eval('tbody a', (as) => as.map((a) => ({ text: a.textContent, href: a.href })));
    const names = links.map((l) => l.text);
    assert.deepEqual(names, ['../', 'photos/', 'café ☕.txt', 'data.json', 'notes with spaces.txt']);
    await page.screenshot({ path: join(ROOT_DIR, 'test', '.screenshots', 'listing.png') });
    const expected = {
      'café ☕.txt': 'Un café, s’il vous plaît.\n',
      'notes with spaces.txt': 'A file whose name has spaces.\n',
    };
    for (const [name, content] of Object.entries(expected)) {
      await page.goto(base + '/files/');
      const [opened] = await Promise.all([page.waitForNavigation(), page.click(`text=${name}`)]);
      assert.equal(opened.status(), 200);
      assert.equal((await opened.body()).toString('utf8'), content);
    }
    await page.goto(base + '/files/');
    await Promise.all([page.waitForURL(base + '/files/photos/'), page.click('text=photos/')]);
    assert.match(await page.textContent('h1'), /Index of \/files\/photos\//);
  });

  test('a streamed script shows all its lines in the page (streaming itself: cgi.test.mjs)', async () => {
    const response = await page.goto(base + '/cgi-bin/stream.py');
    assert.equal(response.status(), 200);
    const text = await page.evaluate(() => document.body.innerText);
    assert.equal(text.trim().split('\n').length, 5);
  });

  test('script output streams into the page: the first line shows while the script still runs (nosniff, issue 14)', async () => {
    // Without X-Content-Type-Options: nosniff, Chromium holds a text/plain body back to sniff it
    // (up to 1 KiB or the end). The script prints one line, then waits until the test has seen it.
    const root = realpathSync(tempDir('scriptserve-browser-stream-'));
    writeTree(root, {
      'cgi-bin/wait.py': [
        'import os, sys, time',
        'sys.stdout.write("Content-Type: text/plain; charset=utf-8\\r\\n\\r\\nfirst line\\n")',
        'sys.stdout.flush()',
        'flag = os.path.join(os.environ["DOCUMENT_ROOT"], "seen")',
        'end = time.monotonic() + 20',
        'while not os.path.exists(flag) and time.monotonic() < end:',
        '    time.sleep(0.02)',
        'print("after the test saw the first line" if os.path.exists(flag) else "timed out")',
      ].join('\n') + '\n',
    });
    const srv = await startServer({ root, interpreters: { '.py': PYTHON } });
    try {
      await page.goto(`${srv.base}/cgi-bin/wait.py`, { waitUntil: 'commit' });
      await page.waitForFunction(() => document.body?.innerText.includes('first line'), null, { timeout: 15000 });
      writeFileSync(join(root, 'seen'), '');
      await page.waitForFunction(() => document.body?.innerText.includes('after the test saw'), null, { timeout: 15000 });
      assert.equal((await page.evaluate(() => document.body.innerText)).trim(), 'first line\nafter the test saw the first line');
    } finally {
      await srv.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
