// docs/recipes.md's Python recipe, run from the page itself (recipes-doc.mjs):
// a form (GET and POST), a JSON body and a multipart upload read with the
// standard library only. In WARM_FILES: the warm pass runs it warm.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { request, rmSync, tempDir } from './helpers.mjs';
import { startRecipe, writeRecipe } from './recipes-doc.mjs';

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

describe('recipe: a Python CGI script with the standard library only', () => {
  let dir;
  let cli;
  let base;
  before(async () => {
    dir = realpathSync(tempDir('scriptserve-recipe-python-'));
    writeRecipe('python', join(dir, 'site'));
    cli = await startRecipe('python', join(dir, 'site'));
    base = `http://127.0.0.1:${cli.port}/cgi-bin/app.py`;
  });
  after(async () => {
    await cli?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a form by GET and by POST, the answer escaped', async () => {
    const get = await request(cli.port, '/cgi-bin/app.py?name=' + encodeURIComponent('<i>Grace</i>'));
    assert.equal(get.status, 200);
    assert.equal(get.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(get.body.toString(), '<!DOCTYPE html>\n<p id=greeting>Hello, &lt;i&gt;Grace&lt;/i&gt;!</p>\n');
    const body = 'name=Ada+%26+Charles';
    const post = await request(cli.port, '/cgi-bin/app.py', { method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': body.length } });
    assert.match(post.body.toString(), /Hello, Ada &amp; Charles!/);
  });

  test('a JSON body, and a 400 for one that is not JSON', async () => {
    const data = { items: [1, 2, 3], name: 'café ☕' };
    const r = await fetch(base, { method: 'POST', headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify(data) });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { received: data });
    const bad = await fetch(base, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{not json' });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: 'not JSON' });
  });

  test('a multipart upload: text fields and binary files byte for byte', async () => {
    // Bytes that look like line ends and boundaries must survive.
    const one = Buffer.concat([randomBytes(100 * 1024), Buffer.from('\r\n--\r\n\n\r'), randomBytes(1000)]);
    const two = randomBytes(10);
    const form = new FormData();
    form.append('title', 'Quarterly ✓');
    form.append('doc', new Blob([one]), 'report.bin');
    form.append('doc', new Blob([two]), 'tiny.bin');
    const r = await fetch(base, { method: 'POST', body: form });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), {
      fields: { title: 'Quarterly ✓' },
      files: [
        { field: 'doc', filename: 'report.bin', size: one.length, sha256: sha256(one) },
        { field: 'doc', filename: 'tiny.bin', size: two.length, sha256: sha256(two) },
      ],
    });
  });
});
