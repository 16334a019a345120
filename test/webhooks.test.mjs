// Webhook routes, black-box: the CLI serves a folder whose scriptserve.json
// declares routes with signature checks (GitHub, GitLab, Stripe, Slack),
// rules, mappings and async jobs; every delivery is signed here with the
// provider's documented algorithm. A refused delivery must never start its
// command: each command records its run in a file, whose absence is checked.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deadline, parseRawResponse, rawRequest, request, ROOT_DIR, runCli, startCli, tempDir, waitFor, writeTree } from './helpers.mjs';

const GH_SECRET = "It's a Secret to Everybody";
const SLACK_SECRET = 'slack-signing-secret';
const STRIPE_SECRET = 'whsec_stripe_secret';
const GITLAB_TOKEN = 'gitlab-token-123';
const PASSWORD_HASH = execFileSync('openssl', ['passwd', '-6', '-salt', 'hookhook', 'pw']).toString().trim();

const RECORD = `#!/bin/sh
# record.sh FILE [mapped args...]: what the command was given, then its stdin.
rec="$1"; shift
{
  printf 'args:'; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\\n'
  printf 'HOOK_REF=[%s]\\n' "\${HOOK_REF-unset}"
  printf 'HOOK_EVENT=[%s]\\n' "\${HOOK_EVENT-unset}"
  printf 'HOOK_NOTE=[%s]\\n' "\${HOOK_NOTE-unset}"
} > "$rec.meta"
cat > "$rec.body"
echo ran
`;
const WAIT = `#!/bin/sh
# wait.sh DIR: a job that runs until the test creates DIR/release (at most 30 s).
echo "started $$"
: > "$1/started"
n=0
while [ ! -e "$1/release" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
echo finished
`;
const FAIL = `#!/bin/sh
echo "failing" >&2
exit 3
`;

const sign = (body, secret = GH_SECRET) => 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');

function routesFor(dir) {
  const rec = (name) => ['./record.sh', join(dir, name)];
  const github = { type: 'hmac-sha256', header: 'X-Hub-Signature-256', prefix: 'sha256=', secretEnv: 'GH_SECRET' };
  return [
    { method: 'POST', path: '/github', command: rec('github'), verify: github },
    {
      method: 'POST',
      path: '/deploy',
      command: rec('deploy'),
      verify: github,
      when: { and: [{ field: '/ref', equals: 'refs/heads/main' }, { header: 'X-GitHub-Event', in: ['push'] }] },
      env: { HOOK_REF: '/ref', HOOK_EVENT: { header: 'X-GitHub-Event' }, HOOK_NOTE: '/note' },
      args: ['/head_commit/id', { query: 'tag' }],
    },
    { method: 'POST', path: '/gitlab', command: rec('gitlab'), verify: { type: 'token', header: 'X-Gitlab-Token', secretEnv: 'GITLAB_TOKEN' } },
    { method: 'POST', path: '/stripe', command: rec('stripe'), verify: { type: 'stripe', secretFile: join(dir, 'stripe.secret') } },
    { method: 'POST', path: '/slack', command: rec('slack'), verify: { type: 'slack', secretEnv: 'SLACK_SECRET' } },
    { method: 'POST', path: '/small', command: rec('small'), verify: github, maxBody: '1K' },
    { method: 'POST', path: '/lan', command: rec('lan'), allowFrom: ['10.0.0.0/8', 'fd00::/8'] },
    { method: 'POST', path: '/local', command: rec('local'), allowFrom: ['127.0.0.1/32', '::1'], authFile: join(dir, 'hook.htpasswd') },
    { method: 'POST', path: '/async', command: ['./wait.sh', dir], response: 'async', jobs: true, maxJobs: 2, authFile: join(dir, 'hook.htpasswd') },
    { method: 'POST', path: '/fail', command: './fail.sh', failureStatus: 502, headers: { 'X-Hook': 'yes' } },
    { method: 'POST', path: '/ok', command: ['./record.sh', join(dir, 'ok')], successStatus: 201, headers: { 'X-Hook': 'yes' } },
    { method: 'POST', path: '/busy', command: ['./wait.sh', join(dir, 'busy')], maxConcurrent: 1 },
    { method: 'POST', path: '/big', command: rec('big'), when: { or: [{ header: 'X-Go', equals: 'yes' }, { field: '/go', equals: true }] }, maxBody: '4M' },
  ];
}

describe('webhook routes', () => {
  let dir;
  let root;
  let cli;
  const env = { ...process.env, GH_SECRET, SLACK_SECRET, GITLAB_TOKEN };
  const auth = 'Basic ' + Buffer.from('hook:pw').toString('base64');

  before(async () => {
    dir = tempDir('scriptserve-hooks-');
    root = join(dir, 'site');
    // The server's own temporary directory: a spooled body must not outlive its request there.
    env.TMPDIR = join(dir, 'tmp');
    mkdirSync(env.TMPDIR);
    writeTree(dir, { 'stripe.secret': STRIPE_SECRET + '\n', 'hook.htpasswd': `hook:${PASSWORD_HASH}\n` });
    writeTree(root, {
      'record.sh': { mode: 0o755, content: RECORD },
      'wait.sh': { mode: 0o755, content: WAIT },
      'fail.sh': { mode: 0o755, content: FAIL },
      'scriptserve.json': JSON.stringify({ routes: routesFor(dir) }),
    });
    cli = await startCli([root, '--port', '0', '--shutdown-grace', '1'], { env });
  });
  after(async () => {
    await cli?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path, body, headers = {}) => request(cli.port, path, { method: 'POST', body, headers: { 'Content-Length': Buffer.byteLength(body), ...headers } });
  const ran = (name) => existsSync(join(dir, `${name}.meta`));
  const clear = (name) => {
    rmSync(join(dir, `${name}.meta`), { force: true });
    rmSync(join(dir, `${name}.body`), { force: true });
  };

  test("GitHub's published example is accepted end to end, and the command gets the exact body", async () => {
    clear('github');
    const res = await post('/github', 'Hello, World!', {
      'X-Hub-Signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'ran\n');
    assert.equal(readFileSync(join(dir, 'github.body'), 'utf8'), 'Hello, World!');
  });

  for (const [what, headers, body] of [
    ['a wrong signature', { 'X-Hub-Signature-256': sign('x').replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, 'x'],
    ['a signature over a different body', { 'X-Hub-Signature-256': sign('{"a":1}') }, '{"a":2}'],
    ['no signature', {}, '{"a":1}'],
    ['a signature made with another secret', { 'X-Hub-Signature-256': sign('{"a":1}', 'guess') }, '{"a":1}'],
  ]) {
    test(`refused with ${what}: 403, logged, and the command never starts`, async () => {
      clear('github');
      const res = await post('/github', body, headers);
      assert.equal(res.status, 403);
      assert.equal(ran('github'), false);
      await waitFor(() => /POST \/github[^\n]* 403 [^\n]*webhook: /.test(cli.stdout()), 3000);
      assert.match(cli.stdout(), /POST \/github[^\n]* 403 [^\n]*webhook: /);
    });
  }

  test('a chunked body is verified over its exact bytes too', async () => {
    clear('github');
    const body = JSON.stringify({ text: 'ünïcødé ✓', n: 1 });
    const res = await request(cli.port, '/github', { method: 'POST', body, headers: { 'Transfer-Encoding': 'chunked', 'X-Hub-Signature-256': sign(body) } });
    assert.equal(res.status, 200);
    assert.equal(readFileSync(join(dir, 'github.body'), 'utf8'), body);
  });

  test('rules: a matching push runs with mapped env and args; shell metacharacters arrive as plain text', async () => {
    clear('deploy');
    const note = '$(touch /tmp/pwned-by-hook); `id`; rm -rf / && echo "x" | sh ✓';
    const payload = JSON.stringify({ ref: 'refs/heads/main', head_commit: { id: 'abc123' }, note });
    const res = await post('/deploy?tag=v1.2', payload, { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': sign(payload) });
    assert.equal(res.status, 200);
    const meta = readFileSync(join(dir, 'deploy.meta'), 'utf8');
    assert.match(meta, /^args: \[abc123\] \[v1\.2\]$/m);
    assert.ok(meta.includes('HOOK_REF=[refs/heads/main]'));
    assert.ok(meta.includes('HOOK_EVENT=[push]'));
    assert.ok(meta.includes(`HOOK_NOTE=[${note}]`), meta);
    assert.equal(existsSync('/tmp/pwned-by-hook'), false);
    assert.equal(readFileSync(join(dir, 'deploy.body'), 'utf8'), payload, 'the whole payload stays on stdin');
  });

  test('rules: another branch or event is 202 "not triggered" and nothing runs', async () => {
    for (const [ref, event] of [['refs/heads/dev', 'push'], ['refs/heads/main', 'ping']]) {
      clear('deploy');
      const payload = JSON.stringify({ ref });
      const res = await post('/deploy', payload, { 'Content-Type': 'application/json', 'X-GitHub-Event': event, 'X-Hub-Signature-256': sign(payload) });
      assert.equal(res.status, 202);
      assert.equal(res.body.toString(), 'not triggered\n');
      assert.equal(ran('deploy'), false);
    }
  });

  test("GitHub's form deliveries: verified over the raw body, rules see the decoded payload", async () => {
    clear('deploy');
    const payload = JSON.stringify({ ref: 'refs/heads/main', head_commit: { id: 'f00d' } });
    const body = 'payload=' + encodeURIComponent(payload);
    const res = await post('/deploy', body, { 'Content-Type': 'application/x-www-form-urlencoded', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': sign(body) });
    assert.equal(res.status, 200);
    const meta = readFileSync(join(dir, 'deploy.meta'), 'utf8');
    assert.match(meta, /^args: \[f00d\] \[\]$/m, 'an absent query value is an empty argument');
    assert.ok(meta.includes('HOOK_NOTE=[unset]'), 'an absent field leaves its variable unset');
  });

  test('a NUL in a mapped value is 400 and nothing runs', async () => {
    clear('deploy');
    const payload = JSON.stringify({ ref: 'refs/heads/main', head_commit: { id: 'a\u0000b' } });
    const res = await post('/deploy', payload, { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': sign(payload) });
    assert.equal(res.status, 400);
    assert.match(res.body.toString(), /NUL/);
    assert.equal(ran('deploy'), false);
  });

  test('a mapped value over 128 KiB is 400 and nothing runs', async () => {
    clear('deploy');
    const payload = JSON.stringify({ ref: 'refs/heads/main', head_commit: { id: 'x' }, note: 'n'.repeat(129 * 1024) });
    const res = await post('/deploy', payload, { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': sign(payload) });
    assert.equal(res.status, 400);
    assert.equal(ran('deploy'), false);
  });

  test('GitLab token: right token runs, wrong token is 403', async () => {
    clear('gitlab');
    assert.equal((await post('/gitlab', '{}', { 'X-Gitlab-Token': 'nope' })).status, 403);
    assert.equal(ran('gitlab'), false);
    assert.equal((await post('/gitlab', '{}', { 'X-Gitlab-Token': GITLAB_TOKEN })).status, 200);
    assert.equal(ran('gitlab'), true);
  });

  test('Stripe: a fresh signature runs; one outside the 300 s tolerance is 403 (secret from a file)', async () => {
    const body = '{"id":"evt_1","type":"charge.succeeded"}';
    const header = (t) => `t=${t},v1=${createHmac('sha256', STRIPE_SECRET).update(`${t}.${body}`).digest('hex')}`;
    const now = Math.floor(Date.now() / 1000);
    clear('stripe');
    assert.equal((await post('/stripe', body, { 'Stripe-Signature': header(now - 400) })).status, 403);
    assert.equal(ran('stripe'), false);
    assert.equal((await post('/stripe', body, { 'Stripe-Signature': header(now) })).status, 200);
    assert.equal(readFileSync(join(dir, 'stripe.body'), 'utf8'), body);
  });

  test('Slack: a fresh signature runs; a stale timestamp is 403', async () => {
    const body = 'token=x&command=%2Fdeploy&text=now';
    const headers = (ts) => ({
      'Content-Type': 'application/x-www-form-urlencoded',
      'X-Slack-Request-Timestamp': String(ts),
      'X-Slack-Signature': 'v0=' + createHmac('sha256', SLACK_SECRET).update(`v0:${ts}:${body}`).digest('hex'),
    });
    const now = Math.floor(Date.now() / 1000);
    clear('slack');
    assert.equal((await post('/slack', body, headers(now - 301))).status, 403);
    assert.equal(ran('slack'), false);
    assert.equal((await post('/slack', body, headers(now))).status, 200);
    assert.equal(ran('slack'), true);
  });

  test("a body over the route's maxBody is 413 and nothing runs, with or without Content-Length", async () => {
    clear('small');
    const body = 'x'.repeat(4096);
    assert.equal((await post('/small', body, { 'X-Hub-Signature-256': sign(body) })).status, 413);
    const chunked = await request(cli.port, '/small', { method: 'POST', body, headers: { 'Transfer-Encoding': 'chunked', 'X-Hub-Signature-256': sign(body) } });
    assert.equal(chunked.status, 413);
    assert.equal(ran('small'), false);
  });

  test('allowFrom: a client outside the list is 403; inside it, the route also asks for its own credentials', async () => {
    clear('lan');
    clear('local');
    assert.equal((await post('/lan', '{}')).status, 403);
    assert.equal(ran('lan'), false);
    const noAuth = await post('/local', '{}');
    assert.equal(noAuth.status, 401);
    assert.match(noAuth.headers['www-authenticate'], /^Basic/);
    assert.equal(ran('local'), false);
    assert.equal((await post('/local', '{}', { Authorization: 'Basic ' + Buffer.from('hook:wrong').toString('base64') })).status, 401);
    assert.equal((await post('/local', '{}', { Authorization: auth })).status, 200);
    assert.equal(ran('local'), true);
  });

  test("route statuses and headers: successStatus, failureStatus, the route's headers", async () => {
    const ok = await post('/ok', 'x');
    assert.equal(ok.status, 201);
    assert.equal(ok.headers['x-hook'], 'yes');
    const failed = await post('/fail', 'x');
    assert.equal(failed.status, 502);
    assert.equal(failed.headers['x-hook'], 'yes');
  });

  test('async: 202 at once with a job id and Location; the status page shows the run; beyond maxJobs is 503', async () => {
    rmSync(join(dir, 'release'), { force: true });
    const submit = () => post('/async', '{"go":1}', { Authorization: auth });
    const first = await submit();
    assert.equal(first.status, 202);
    const job = JSON.parse(first.body.toString());
    assert.match(job.id, /^[A-Za-z0-9_-]{24,}$/, 'at least 128 random bits');
    assert.equal(first.headers.location, `/.well-known/scriptserve/jobs/${job.id}`);
    const second = await submit();
    assert.equal(second.status, 202, 'queued behind the first (maxConcurrent 1 for async routes)');
    const third = await submit();
    assert.equal(third.status, 503, 'maxJobs 2: queued + running');
    assert.ok(third.headers['retry-after']);

    const status = async (location, headers = { Authorization: auth }) => {
      const res = await request(cli.port, location, { headers });
      return { status: res.status, job: res.status === 200 ? JSON.parse(res.body.toString()) : null };
    };
    assert.equal((await status(first.headers.location, {})).status, 401, "the job page is behind the route's credentials");
    assert.equal((await status('/.well-known/scriptserve/jobs/unknown')).status, 404);
    await waitFor(async () => (await status(first.headers.location)).job?.status === 'running', 5000);
    assert.equal((await status(second.headers.location)).job.status, 'queued');

    writeFileSync(join(dir, 'release'), '');
    for (const location of [first.headers.location, second.headers.location]) {
      const done = await waitFor(async () => {
        const s = await status(location);
        return s.job?.status === 'succeeded' ? s.job : null;
      }, 10000);
      assert.ok(done, `job ${location} finished`);
      assert.equal(done.exitCode, 0);
      assert.match(done.output, /^started \d+\nfinished\n$/);
    }
    rmSync(join(dir, 'release'), { force: true });
  });

  test("maxConcurrent: a route's own limit answers 503 with Retry-After while its slot is taken", async () => {
    mkdirSync(join(dir, 'busy'), { recursive: true });
    const first = post('/busy', '');
    // The first request holds the slot until busy/release exists.
    assert.ok(await waitFor(() => existsSync(join(dir, 'busy', 'started')), 5000), 'the first command started');
    const refused = await post('/busy', '');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    // A chunked body over 1 MiB is spooled to a file before the route's limit is asked: refused, the file goes too.
    const spooled = parseRawResponse(await rawRequest(cli.port, `POST /busy HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n${'b'.repeat(0x200000)}\r\n0\r\n\r\n`));
    assert.equal(spooled.status, 503);
    const spoolDirs = () => readdirSync(env.TMPDIR).filter((name) => !name.startsWith('scriptserve-warm-'));
    assert.ok(await waitFor(() => spoolDirs().length === 0, 2000), `a refused body's spool file was left behind: ${spoolDirs().join(', ')}`);
    writeFileSync(join(dir, 'busy', 'release'), '');
    assert.equal((await first).status, 200);
    assert.equal((await post('/busy', '')).status, 200, 'the slot is free again');
  });

  test('rules read at most 1 MiB of a JSON body; a larger body still reaches the command whole', async () => {
    clear('big');
    const big = JSON.stringify({ go: true, pad: 'p'.repeat(2 * 1024 * 1024) });
    const ignored = await post('/big', big, { 'Content-Type': 'application/json' });
    assert.equal(ignored.status, 202, 'a JSON prefix is no document: /go is absent');
    assert.equal(ran('big'), false);
    const res = await post('/big', big, { 'Content-Type': 'application/json', 'X-Go': 'yes' });
    assert.equal(res.status, 200);
    assert.equal(readFileSync(join(dir, 'big.body'), 'utf8'), big);
    clear('big');
    assert.equal((await post('/big', JSON.stringify({ go: true }), { 'Content-Type': 'application/json' })).status, 200, 'a small body is parsed');
  });

  test('the config file is never served, nor the scripts as source of a route', async () => {
    assert.equal((await request(cli.port, '/scriptserve.json')).status, 404);
  });
});

describe('webhook config at start-up', () => {
  let root;
  before(() => {
    root = tempDir('scriptserve-hooks-config-');
    writeTree(root, { 'run.sh': { mode: 0o755, content: '#!/bin/sh\necho hi\n' } });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const [what, route, message] of [
    ['a missing secret', { verify: { type: 'hmac-sha256', header: 'X-Sig', secretEnv: 'SCRIPTSERVE_TEST_NO_SUCH_SECRET' } }, /SCRIPTSERVE_TEST_NO_SUCH_SECRET is not set or empty/],
    ['a misspelt key', { verfiy: { type: 'token' } }, /unknown key "verfiy"/],
    ['a reserved variable', { env: { LD_PRELOAD: '/x' } }, /set by the server/],
    ['a bad rule', { when: { field: '/ref', matches: '(' } }, /bad regular expression/],
    ['a header with CR LF', { headers: { 'X-A': 'a\r\nSet-Cookie: x' } }, /without CR, LF or NUL/],
  ]) {
    test(`${what} stops start-up with one line`, async () => {
      writeFileSync(join(root, 'scriptserve.json'), JSON.stringify({ routes: [{ method: 'POST', path: '/h', command: './run.sh', ...route }] }));
      const { code, stderr } = await runCli([root, '--port', '0']);
      assert.equal(code, 1);
      assert.match(stderr, message);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
    });
  }
});

describe('webhook reload', () => {
  let root;
  let cli;
  const write = (routes) => writeFileSync(join(root, 'scriptserve.json'), JSON.stringify({ routes }));
  const token = (secretEnv) => ({ method: 'POST', path: '/hook', command: './run.sh', verify: { type: 'token', header: 'X-Token', secretEnv } });
  before(async () => {
    root = tempDir('scriptserve-hooks-reload-');
    writeTree(root, { 'run.sh': { mode: 0o755, content: '#!/bin/sh\necho hi\n' } });
    write([token('TOKEN_A')]);
    cli = await startCli([root, '--port', '0', '--watch-config'], { env: { ...process.env, TOKEN_A: 'aaa', TOKEN_B: 'bbb' } });
  });
  after(async () => {
    await cli?.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const call = (value) => request(cli.port, '/hook', { method: 'POST', body: '', headers: { 'X-Token': value } });

  test('SIGHUP applies new routes and secrets; a broken file is refused and the old config stays', async () => {
    assert.equal((await call('aaa')).status, 200);
    write([token('TOKEN_B'), { method: 'POST', path: '/new', command: './run.sh' }]);
    await waitFor(() => /config file changed: reloaded/.test(cli.stderr()), 5000);
    assert.equal((await call('aaa')).status, 403, 'the old secret no longer works');
    assert.equal((await call('bbb')).status, 200);
    assert.equal((await request(cli.port, '/new', { method: 'POST', body: '' })).status, 200);

    writeFileSync(join(root, 'scriptserve.json'), '{"routes": [');
    await waitFor(() => /reload refused, the old config stays/.test(cli.stderr()), 5000);
    assert.match(cli.stderr(), /reload refused, the old config stays \(config file .* is not valid JSON/);
    assert.equal((await call('bbb')).status, 200, 'the old routes still serve');

    write([token('TOKEN_A')]);
    await waitFor(() => (cli.stderr().match(/config file changed: reloaded/g) ?? []).length >= 2, 5000);
    const before = cli.stderr().length;
    write([token('SCRIPTSERVE_TEST_UNSET_SECRET')]);
    cli.child.kill('SIGHUP');
    await waitFor(() => /SIGHUP: .*config file failed \(.*SCRIPTSERVE_TEST_UNSET_SECRET is not set/.test(cli.stderr().slice(before)), 5000);
    assert.equal((await call('aaa')).status, 200, 'a missing secret in the new file leaves the old routes in force');

    write([token('TOKEN_A')]);
    writeFileSync(join(root, 'scriptserve.json'), JSON.stringify({ routes: [token('TOKEN_A')], maxScripts: 3 }));
    await waitFor(() => /maxScripts changed; that takes a restart/.test(cli.stderr()), 5000);
  });
});

describe('async jobs and a graceful stop', () => {
  test('a running job gets the grace period, then is killed and logged as such', async () => {
    const root = tempDir('scriptserve-hooks-stop-');
    writeTree(root, {
      'wait.sh': { mode: 0o755, content: WAIT },
      'scriptserve.json': JSON.stringify({ routes: [{ method: 'POST', path: '/job', command: ['./wait.sh', root], response: 'async' }] }),
    });
    const cli = await startCli([root, '--port', '0', '--shutdown-grace', '1']);
    try {
      const res = await request(cli.port, '/job', { method: 'POST', body: '' });
      assert.equal(res.status, 202);
      const { id } = JSON.parse(res.body.toString());
      assert.equal(res.headers.location, undefined, 'no status page unless "jobs": true');
      await new Promise((r) => setTimeout(r, 300));
      cli.child.kill('SIGTERM');
      const { code } = await deadline(cli.exited, 8000, 'exit after the grace period');
      assert.equal(code, 0);
      assert.match(cli.stdout(), new RegExp(`job ${id} for POST /job: killed: the server stopped before it ended`));
    } finally {
      await cli.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('examples/webhooks: a GitHub push deploys', () => {
  test('a signed push to main pulls the new commit; other events and unsigned deliveries run nothing', async () => {
    const dir = tempDir('scriptserve-hooks-example-');
    const git = (cwd, ...args) => execFileSync('git', args, { cwd, env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } }).toString().trim();
    git(dir, 'init', '-q', '--bare', '-b', 'main', 'origin.git');
    git(dir, 'clone', '-q', 'origin.git', 'work');
    git(dir, 'clone', '-q', 'origin.git', 'app');
    const work = join(dir, 'work');
    writeFileSync(join(work, 'a.txt'), 'one\n');
    git(work, 'add', 'a.txt');
    git(work, 'commit', '-q', '-m', 'one');
    git(work, 'push', '-q', 'origin', 'HEAD:main');
    const app = join(dir, 'app');
    git(app, 'pull', '-q', 'origin', 'main');
    writeFileSync(join(work, 'a.txt'), 'two\n');
    git(work, 'commit', '-q', '-am', 'two');
    git(work, 'push', '-q', 'origin', 'HEAD:main');
    const head = git(work, 'rev-parse', 'HEAD');

    const cli = await startCli([join(ROOT_DIR, 'examples', 'webhooks'), '--port', '0', '--no-cgi', '--pass-env', 'DEPLOY_DIR'], {
      env: { ...process.env, GITHUB_SECRET: 'example-secret', DEPLOY_DIR: app },
    });
    try {
      const deliver = (event, payload, signature = sign(payload, 'example-secret')) =>
        request(cli.port, '/hooks/deploy', { method: 'POST', body: payload, headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': event, 'X-Hub-Signature-256': signature } });
      const push = JSON.stringify({ ref: 'refs/heads/main', after: head, pusher: { name: 'ann' } });
      assert.equal((await deliver('ping', JSON.stringify({ zen: 'hi' }))).status, 202);
      assert.equal((await deliver('push', JSON.stringify({ ref: 'refs/heads/dev', after: head }))).status, 202);
      assert.equal((await deliver('push', push, sign(push, 'wrong'))).status, 403);
      assert.equal(readFileSync(join(app, 'a.txt'), 'utf8'), 'one\n', 'nothing ran yet');
      const res = await deliver('push', push);
      assert.equal(res.status, 202);
      const job = await waitFor(async () => {
        const s = JSON.parse((await request(cli.port, res.headers.location)).body.toString());
        return s.status === 'running' || s.status === 'queued' ? null : s;
      }, 20000);
      assert.equal(job?.status, 'succeeded', JSON.stringify(job));
      assert.match(job.output, new RegExp(`deploying ${head} pushed by ann`));
      assert.equal(readFileSync(join(app, 'a.txt'), 'utf8'), 'two\n');
      assert.equal(git(app, 'rev-parse', 'HEAD'), head);
    } finally {
      await cli.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
