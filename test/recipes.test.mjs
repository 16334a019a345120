// docs/recipes.md, run for real (issue 14): git http-backend, php-cgi, gitweb
// and cgit, each set up from the page's own files and command lines
// (recipes-doc.mjs) and checked by outcome: refs and file hashes after clone
// and push, exact bytes, statuses. A missing program skips its recipe with a
// note, except in CI (needProgram). The Python recipe is in
// recipe-python.test.mjs (it runs in the warm pass too).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needProgram, request, rmSync, tempDir } from './helpers.mjs';
import { RECIPES, startRecipe, writeRecipe } from './recipes-doc.mjs';

const GIT = '/usr/bin/git';
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/** A test's own git: no system or user configuration, never a prompt. */
function gitEnv(home, extra = {}) {
  return {
    ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '',
    GIT_AUTHOR_NAME: 'Recipe Test', GIT_AUTHOR_EMAIL: 'recipe@example.com',
    GIT_COMMITTER_NAME: 'Recipe Test', GIT_COMMITTER_EMAIL: 'recipe@example.com', ...extra,
  };
}

/** Run git; throws with its stderr on failure. Returns stdout (trimmed). */
function git(home, args, { cwd, env = {} } = {}) {
  return execFileSync(GIT, args, { cwd, env: gitEnv(home, env), timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
}

/** Run git expecting it may fail: { status, stdout, stderr }. */
function gitTry(home, args, { cwd, env = {} } = {}) {
  const r = spawnSync(GIT, args, { cwd, env: gitEnv(home, env), timeout: 60000 });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/**
 * A bare repository `site/.repos/project.git` with a first commit (README and
 * a binary file) pushed through the file system; returns its files and head.
 */
function seedRepository(home, site) {
  const bare = join(site, '.repos', 'project.git');
  mkdirSync(join(site, '.repos'), { recursive: true });
  git(home, ['init', '-q', '--bare', '-b', 'main', bare]);
  const work = join(home, 'seed');
  git(home, ['init', '-q', '-b', 'main', work]);
  const files = { README: Buffer.from('hello from a scriptserve recipe\n'), 'data.bin': randomBytes(4096) };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(work, name), bytes);
  git(home, ['add', '.'], { cwd: work });
  git(home, ['commit', '-q', '-m', 'first commit'], { cwd: work });
  git(home, ['push', '-q', bare, 'main'], { cwd: work });
  return { bare, work, files, head: git(home, ['rev-parse', 'HEAD'], { cwd: work }) };
}

/** The request header blocks of a GIT_TRACE_CURL file, one per POST: [path, headers text]. */
function tracedPosts(traceFile) {
  const text = readFileSync(traceFile, 'latin1');
  return text.split('=> Send header: POST ').slice(1).map((block) => [block.slice(0, block.indexOf(' ')), block.split('<= Recv header')[0]]);
}

describe('recipe: git over HTTP (git http-backend)', { skip: needProgram(GIT, 'git') }, () => {
  let dir;
  let site;
  let home;
  let repo;
  before(() => {
    dir = realpathSync(tempDir('scriptserve-recipe-git-'));
    site = join(dir, 'site');
    home = join(dir, 'home');
    mkdirSync(home);
    writeRecipe('git', site);
    repo = seedRepository(home, site);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('clone, fetch and protocol v2 anonymously; a push is refused with 403, a missing repository is 404', async () => {
    const cli = await startRecipe('git', site);
    const url = `http://127.0.0.1:${cli.port}/cgi-bin/git/project.git`;
    try {
      const clone = join(dir, 'clone-anon');
      const traced = gitTry(home, ['-c', 'protocol.version=2', 'clone', url, clone], { env: { GIT_TRACE_PACKET: '1' } });
      assert.equal(traced.status, 0, traced.stderr);
      assert.match(traced.stderr, /git< version 2/, 'the server spoke protocol v2');
      assert.equal(git(home, ['rev-parse', 'HEAD'], { cwd: clone }), repo.head);
      for (const [name, bytes] of Object.entries(repo.files)) assert.equal(sha256(readFileSync(join(clone, name))), sha256(bytes), name);
      // Protocol v0 as well.
      const v0 = git(home, ['-c', 'protocol.version=0', 'ls-remote', url, 'refs/heads/main']);
      assert.equal(v0.split('\t')[0], repo.head);

      // fetch sees a commit pushed to the repository since.
      writeFileSync(join(repo.work, 'README'), 'second version\n');
      git(home, ['commit', '-q', '-am', 'second commit'], { cwd: repo.work });
      git(home, ['push', '-q', repo.bare, 'main'], { cwd: repo.work });
      const second = git(home, ['rev-parse', 'HEAD'], { cwd: repo.work });
      git(home, ['fetch', '-q'], { cwd: clone });
      assert.equal(git(home, ['rev-parse', 'origin/main'], { cwd: clone }), second);

      // An anonymous push: git http-backend's own 403 (no Content-Type, no body) reaches git as a 403, not a 502.
      git(home, ['merge', '-q', '--ff-only', 'origin/main'], { cwd: clone });
      writeFileSync(join(clone, 'anon.txt'), 'anonymous\n');
      git(home, ['add', 'anon.txt'], { cwd: clone });
      git(home, ['commit', '-q', '-m', 'anonymous push'], { cwd: clone });
      const push = gitTry(home, ['push', 'origin', 'main'], { cwd: clone });
      assert.notEqual(push.status, 0);
      assert.match(push.stderr, /403/, push.stderr);
      assert.doesNotMatch(push.stderr, /502/);
      assert.equal(git(home, ['--git-dir', repo.bare, 'rev-parse', 'main']), second, 'the refused push changed nothing');

      const missing = gitTry(home, ['ls-remote', `http://127.0.0.1:${cli.port}/cgi-bin/git/nope.git`]);
      assert.notEqual(missing.status, 0);
      assert.match(missing.stderr, /not found/, missing.stderr);
      assert.doesNotMatch(cli.stdout() + cli.stderr(), /\b502\b/);
    } finally {
      await cli.stop();
    }
  });

  test('behind --auth: clones need the credentials, pushes work, a large push goes chunked and a large negotiation gzip-encoded', async () => {
    const cli = await startRecipe('git-auth', site);
    const bareUrl = `http://127.0.0.1:${cli.port}/cgi-bin/git/project.git`;
    const url = `http://alice:s3cret@127.0.0.1:${cli.port}/cgi-bin/git/project.git`;
    try {
      const anon = gitTry(home, ['ls-remote', bareUrl]);
      assert.notEqual(anon.status, 0);
      assert.match(anon.stderr, /could not read Username|Authentication failed|401/, anon.stderr); // git asks for credentials after the 401

      const clone = join(dir, 'clone-auth');
      git(home, ['clone', '-q', url, clone]);
      assert.equal(git(home, ['rev-parse', 'HEAD'], { cwd: clone }), git(home, ['--git-dir', repo.bare, 'rev-parse', 'main']));

      // A small push.
      writeFileSync(join(clone, 'small.txt'), 'pushed over HTTP\n');
      git(home, ['add', 'small.txt'], { cwd: clone });
      git(home, ['commit', '-q', '-m', 'small push'], { cwd: clone });
      git(home, ['push', '-q', 'origin', 'main'], { cwd: clone });
      assert.equal(git(home, ['--git-dir', repo.bare, 'rev-parse', 'main']), git(home, ['rev-parse', 'HEAD'], { cwd: clone }));

      // A push larger than http.postBuffer (1 MiB): git sends it chunked. Sixty branches
      // make the next clone's negotiation larger than 1 KiB, which git sends gzip-encoded.
      const big = randomBytes(3 * 1024 * 1024);
      writeFileSync(join(clone, 'big.bin'), big);
      git(home, ['add', 'big.bin'], { cwd: clone });
      git(home, ['commit', '-q', '-m', 'large push'], { cwd: clone });
      for (let i = 0; i < 60; i++) git(home, ['branch', `topic-${String(i).padStart(2, '0')}`], { cwd: clone });
      const pushTrace = join(dir, 'push.trace');
      git(home, ['push', '-q', 'origin', 'main', 'refs/heads/topic-*:refs/heads/topic-*'], { cwd: clone, env: { GIT_TRACE_CURL: pushTrace, GIT_TRACE_CURL_NO_DATA: '1' } });
      const chunkedPush = tracedPosts(pushTrace).some(([path, headers]) => path.endsWith('/git-receive-pack') && /Transfer-Encoding: chunked/i.test(headers));
      assert.ok(chunkedPush, 'git sent the large push chunked');
      const head = git(home, ['rev-parse', 'HEAD'], { cwd: clone });
      assert.equal(git(home, ['--git-dir', repo.bare, 'rev-parse', 'main']), head);
      assert.equal(git(home, ['--git-dir', repo.bare, 'for-each-ref', '--count=100', '--format=%(refname)', 'refs/heads/topic-*']).split('\n').length, 60);

      const fresh = join(dir, 'clone-fresh');
      const cloneTrace = join(dir, 'clone.trace');
      git(home, ['clone', '-q', '--no-single-branch', url, fresh], { env: { GIT_TRACE_CURL: cloneTrace, GIT_TRACE_CURL_NO_DATA: '1' } });
      const gzipFetch = tracedPosts(cloneTrace).some(([path, headers]) => path.endsWith('/git-upload-pack') && /Content-Encoding: gzip/i.test(headers));
      assert.ok(gzipFetch, 'git sent the negotiation gzip-encoded');
      assert.equal(git(home, ['rev-parse', 'HEAD'], { cwd: fresh }), head);
      assert.equal(sha256(readFileSync(join(fresh, 'big.bin'))), sha256(big));
      assert.equal(git(home, ['branch', '-r'], { cwd: fresh }).split('\n').filter((l) => l.includes('topic-')).length, 60);
    } finally {
      await cli.stop();
    }
  });
});

describe('recipe: PHP with php-cgi', { skip: needProgram('/usr/bin/php-cgi', 'php-cgi') }, () => {
  let dir;
  let cli;
  let base;
  before(async () => {
    dir = realpathSync(tempDir('scriptserve-recipe-php-'));
    writeRecipe('php', join(dir, 'site'));
    cli = await startRecipe('php', join(dir, 'site'));
    base = `http://127.0.0.1:${cli.port}`;
  });
  after(async () => {
    await cli?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('index.php is the directory index; cookies are set and read', async () => {
    const first = await request(cli.port, '/');
    assert.equal(first.status, 200, first.body.toString());
    assert.match(first.headers['content-type'], /^text\/html/);
    assert.match(first.body.toString(), /<p id="visits">Visit number 1<\/p>/);
    assert.deepEqual(first.headers['set-cookie'], ['visits=1; path=/; HttpOnly; SameSite=Lax']);
    const again = await request(cli.port, '/index.php', { headers: { Cookie: 'visits=4' } });
    assert.match(again.body.toString(), /Visit number 5/);
  });

  test('a POSTed form, escaped', async () => {
    const body = 'name=' + encodeURIComponent('<b>Ada</b> & co');
    const r = await request(cli.port, '/', { method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) } });
    assert.equal(r.status, 200);
    assert.match(r.body.toString(), /<p id="greeting">Hello, &lt;b&gt;Ada&lt;\/b&gt; &amp; co!<\/p>/);
  });

  test("an upload arrives in PHP's $_FILES byte for byte", async () => {
    const bytes = randomBytes(300 * 1024);
    const form = new FormData();
    form.append('doc', new Blob([bytes]), 'report.bin');
    const r = await fetch(`${base}/upload.php`, { method: 'POST', body: form });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { name: 'report.bin', size: bytes.length, sha256: sha256(bytes) });
    const none = await request(cli.port, '/upload.php', { method: 'POST', body: '' });
    assert.equal(none.status, 400);
  });

  test('PATH_INFO, status codes and Location', async () => {
    const user = await request(cli.port, '/api.php/users/7');
    assert.equal(user.status, 200);
    assert.deepEqual(JSON.parse(user.body), { user: 7 });
    const missing = await request(cli.port, '/api.php/nothing');
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), { error: 'no such resource', path: '/nothing' });
    const home = await request(cli.port, '/api.php/home');
    assert.equal(home.status, 302);
    assert.equal(home.headers.location, '/');
  });

  test('REDIRECT_STATUS satisfies cgi.force_redirect; a query is never argv (CVE-2012-1823); the source is never sent', async () => {
    for (const path of ['/index.php?-s', '/?-s', '/index.php?-d+auto_prepend_file%3d/etc/passwd+-n', '/index.php?-i']) {
      const r = await request(cli.port, path);
      const text = r.body.toString();
      assert.equal(r.status, 200, path);
      assert.match(text, /Visit number 1/, path);
      assert.ok(!text.includes('<?php') && !text.includes('&lt;?php'), `${path}: source shown`);
      assert.ok(!text.includes('root:x:0') && !text.includes('phpinfo') && !text.includes('Security Alert'), path);
    }
  });
});

/** A repository folder for the browsers: the seed commit, in `site/.repos/project.git`. */
function browserSite(prefix, recipe, staticFrom, staticTo) {
  const dir = realpathSync(tempDir(prefix));
  const site = join(dir, 'site');
  const home = join(dir, 'home');
  mkdirSync(home);
  writeRecipe(recipe, site);
  cpSync(staticFrom, join(site, staticTo), { recursive: true });
  return { dir, site, repo: seedRepository(home, site) };
}

/** Extract one file of a .tar.gz (`tar` from the test's system). */
function fileInTarball(tarball, dir, pattern) {
  const file = join(dir, 'snapshot.tar.gz');
  writeFileSync(file, tarball);
  return execFileSync('tar', ['-xzOf', file, '--wildcards', pattern], { timeout: 10000 });
}

describe('recipe: gitweb', { skip: needProgram(GIT, 'git') || needProgram('/usr/share/gitweb/gitweb.cgi', 'gitweb') }, () => {
  let s;
  let cli;
  before(async () => {
    s = browserSite('scriptserve-recipe-gitweb-', 'gitweb', '/usr/share/gitweb/static', 'gitweb-static');
    cli = await startRecipe('gitweb', s.site);
  });
  after(async () => {
    await cli?.stop();
    if (s) rmSync(s.dir, { recursive: true, force: true });
  });

  test('browse: the project list, a summary and the style sheet', async () => {
    const list = await request(cli.port, '/cgi-bin/gitweb.cgi');
    assert.equal(list.status, 200);
    assert.match(list.headers['content-type'], /^(text\/html|application\/xhtml\+xml)/);
    assert.match(list.body.toString(), /project\.git/);
    const summary = await request(cli.port, '/cgi-bin/gitweb.cgi?p=project.git;a=summary');
    assert.equal(summary.status, 200);
    assert.match(summary.body.toString(), /first commit/);
    assert.match(summary.body.toString(), /\/gitweb-static\/gitweb\.css/);
    const css = await request(cli.port, '/gitweb-static/gitweb.css');
    assert.equal(css.status, 200);
    assert.match(css.headers['content-type'], /^text\/css/);
  });

  test('a raw file and a snapshot, byte for byte', async () => {
    for (const [name, bytes] of Object.entries(s.repo.files)) {
      const raw = await request(cli.port, `/cgi-bin/gitweb.cgi?p=project.git;a=blob_plain;f=${name};hb=HEAD`);
      assert.equal(raw.status, 200, name);
      assert.equal(sha256(raw.body), sha256(bytes), name);
    }
    const snap = await request(cli.port, '/cgi-bin/gitweb.cgi?p=project.git;a=snapshot;h=HEAD;sf=tgz');
    assert.equal(snap.status, 200);
    assert.match(snap.headers['content-disposition'] ?? '', /\.tar\.gz/);
    assert.deepEqual(fileInTarball(snap.body, s.dir, '*/README'), s.repo.files.README);
    assert.equal(sha256(fileInTarball(snap.body, s.dir, '*/data.bin')), sha256(s.repo.files['data.bin']));
  });

  test('its configuration and repositories are never served as files', async () => {
    for (const path of ['/.gitweb.conf', '/.repos/project.git/config', '/.repos/']) assert.equal((await request(cli.port, path)).status, 404, path);
  });
});

describe('recipe: cgit', { skip: needProgram(GIT, 'git') || needProgram('/usr/lib/cgit/cgit.cgi', 'cgit') }, () => {
  let s;
  let cli;
  before(async () => {
    s = browserSite('scriptserve-recipe-cgit-', 'cgit', '/usr/share/cgit', 'cgit-static');
    cli = await startRecipe('cgit', s.site);
  });
  after(async () => {
    await cli?.stop();
    if (s) rmSync(s.dir, { recursive: true, force: true });
  });

  test('browse: the repository index, a log and the style sheet', async () => {
    const index = await request(cli.port, '/cgi-bin/cgit/');
    assert.equal(index.status, 200);
    assert.match(index.body.toString(), /project\.git/);
    const log = await request(cli.port, '/cgi-bin/cgit/project.git/log/');
    assert.equal(log.status, 200);
    assert.match(log.body.toString(), /first commit/);
    assert.match(log.body.toString(), /\/cgit-static\/cgit\.css/);
    assert.equal((await request(cli.port, '/cgit-static/cgit.css')).status, 200);
  });

  test('a raw file and a snapshot, byte for byte', async () => {
    for (const [name, bytes] of Object.entries(s.repo.files)) {
      const raw = await request(cli.port, `/cgi-bin/cgit/project.git/plain/${name}`);
      assert.equal(raw.status, 200, name);
      assert.equal(sha256(raw.body), sha256(bytes), name);
    }
    const snap = await request(cli.port, '/cgi-bin/cgit/project.git/snapshot/project-main.tar.gz');
    assert.equal(snap.status, 200);
    assert.deepEqual(fileInTarball(snap.body, s.dir, 'project-main/README'), s.repo.files.README);
    assert.equal(sha256(fileInTarball(snap.body, s.dir, 'project-main/data.bin')), sha256(s.repo.files['data.bin']));
  });
});

test('every recipe of docs/recipes.md has its files and its command line', () => {
  assert.deepEqual(Object.keys(RECIPES).sort(), ['cgit', 'git', 'git-auth', 'gitweb', 'php', 'python']);
  for (const [name, recipe] of Object.entries(RECIPES)) {
    assert.ok(recipe.command, `${name}: command line`);
    if (name !== 'git-auth') assert.ok(Object.keys(recipe.files).length > 0, `${name}: files`);
  }
});
