// The servers measured: scriptserve, its peers and the node:http floors.
// Each is started pinned to the server core, bound to 127.0.0.1 only.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON } from './fixtures.mjs';
import { which } from './proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = join(here, '..', '..');
const require = createRequire(join(REPO, 'package.json'));

/** The scriptserve build measured: BENCH_SCRIPTSERVE=path/to/cli.js compares another build (before/after a change). */
export const SCRIPTSERVE_CLI = process.env.BENCH_SCRIPTSERVE ? resolve(process.env.BENCH_SCRIPTSERVE) : join(REPO, 'dist', 'cli.js');

/** `pgrep -f` pattern of scriptserve's helper processes (src/cgi/python/scriptserve_helper.py: spawn helper, warm fork server). */
export const SCRIPTSERVE_HELPER = 'scriptserve_helper';

/** Path of an npm package's bin script, run with `node` so the pid we watch is the server. */
function binOf(pkg, name) {
  const manifest = require(`${pkg}/package.json`);
  const bin = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[name ?? pkg];
  return join(dirname(require.resolve(`${pkg}/package.json`)), bin);
}

const STATIC = ['get-1k', 'get-100k', 'get-10m', 'listing', '404', '304'];
const CGI = ['cgi-sh', 'cgi-py', 'echo-64k'];

function lighttpdConfig(port, fx) {
  const conf = join(fx.work, `lighttpd-${port}.conf`);
  writeFileSync(
    conf,
    `server.document-root = "${fx.root}"
server.bind = "127.0.0.1"
server.port = ${port}
server.modules += ( "mod_cgi", "mod_dirlisting" )
server.errorlog = "${fx.work}/lighttpd-${port}-error.log"
dir-listing.activate = "enable"
# Without a type lighttpd sends no ETag or Last-Modified (it marks the answer uncacheable).
mimetype.assign = ( ".bin" => "application/octet-stream", ".txt" => "text/plain", ".html" => "text/html" )
$HTTP["url"] =~ "^/cgi-bin/" {
  cgi.assign = ( "" => "" )
  dir-listing.activate = "disable"
}
`,
  );
  return conf;
}

/** The bench's own certificate for the HTTPS rows: EC P-256 for localhost and 127.0.0.1, made once per run with openssl. */
function benchCertificate(fx) {
  const cert = join(fx.work, 'tls.crt');
  const key = join(fx.work, 'tls.key');
  if (!existsSync(cert)) {
    spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '30', '-keyout', key, '-out', cert,
    ], { stdio: 'ignore', timeout: 30_000 });
  }
  return ['--tls-cert', cert, '--tls-key', key];
}

/**
 * Server definitions. `argv(port, fx)` builds the command; `scenarios` lists
 * what it can answer at all (a listing from sirv, a script from serve: no).
 * `cpuSplit`: a server whose CPU per script request is split between Node,
 * its helper and the scripts (lib/cpu.mjs) in every script scenario;
 * `helperPattern` finds its helper processes among its children (`pgrep -f`).
 * `expect`: per scenario id, the answer this server must give in place of the
 * scenario's own (fx → {status, body}); `note`: said under the tables of the
 * scenarios it runs in.
 */
export function serverDefinitions() {
  const lighttpd = which('lighttpd');
  return [
    {
      id: 'scriptserve',
      label: 'scriptserve',
      scenarios: [...STATIC, ...CGI, 'route', 'compress-100k'],
      cpuSplit: true,
      helperPattern: SCRIPTSERVE_HELPER,
      argv: (port, fx) => [
        process.execPath, SCRIPTSERVE_CLI, '-q', '-b', '127.0.0.1', '-p', String(port), '-d', fx.root,
        '--route', 'POST /hello=/bin/sh route.sh',
      ],
    },
    {
      // Issue 7: the same Python scripts through the warm fork server, same interpreter as the cold rows.
      id: 'scriptserve-warm',
      label: `scriptserve --warm-python (${PYTHON})`,
      scenarios: ['cgi-py', 'echo-64k'],
      cpuSplit: true,
      helperPattern: SCRIPTSERVE_HELPER,
      argv: (port, fx) => [
        process.execPath, SCRIPTSERVE_CLI, '-q', '-b', '127.0.0.1', '-p', String(port), '-d', fx.root,
        '--warm-python', '--warm-interpreter', PYTHON,
      ],
    },
    {
      // Issue 15: every script started with Node's child_process.spawn, no spawn helper (its own Node CPU target).
      id: 'scriptserve-spawn',
      label: 'scriptserve --no-spawn-helper',
      scenarios: ['cgi-sh'],
      cpuSplit: true,
      helperPattern: SCRIPTSERVE_HELPER,
      argv: (port, fx) => [process.execPath, SCRIPTSERVE_CLI, '-q', '-b', '127.0.0.1', '-p', String(port), '-d', fx.root, '--no-spawn-helper'],
    },
    {
      // Issue 18: the same GET over TLS, HTTP/1.1 keep-alive (wrk offers no ALPN, so the server falls back to HTTP/1.1).
      id: 'scriptserve-tls',
      label: 'scriptserve over TLS, HTTP/1.1 keep-alive',
      scheme: 'https',
      scenarios: ['get-1k'],
      missing: which('openssl') ? null : 'openssl is not installed (it makes the bench certificate)',
      argv: (port, fx) => [process.execPath, SCRIPTSERVE_CLI, '-q', '-b', '127.0.0.1', '-p', String(port), '-d', fx.root, ...benchCertificate(fx)],
    },
    {
      // Issue 18: HTTP/2 by ALPN, measured with h2load at one stream per connection (comparable per request).
      id: 'scriptserve-h2',
      label: 'scriptserve over TLS, HTTP/2 (h2load, 1 stream per connection)',
      scheme: 'https',
      loadgen: 'h2load',
      scenarios: ['get-1k'],
      missing: !which('openssl') ? 'openssl is not installed' : which('h2load') ? null : 'h2load is not installed (apt-get install nghttp2-client)',
      argv: (port, fx) => [process.execPath, SCRIPTSERVE_CLI, '-q', '-b', '127.0.0.1', '-p', String(port), '-d', fx.root, ...benchCertificate(fx)],
    },
    {
      id: 'floor-node',
      label: 'floor: node:http + createReadStream',
      floor: true,
      scenarios: ['get-1k', 'get-100k', 'get-10m'],
      argv: (port, fx) => [process.execPath, join(here, '..', 'floor-server.mjs'), String(port), fx.root],
    },
    {
      // The 404 floor: the same bytes scriptserve sends for a missing file (page, CSP, nosniff, no-store), and no other work.
      id: 'floor-404',
      label: "floor: node:http sending scriptserve's 404 bytes",
      floor: true,
      scenarios: ['404'],
      argv: (port) => [process.execPath, join(here, '..', 'floor-404.mjs'), String(port)],
    },
    {
      // Issue 15: the least Node CPU per script request with a helper that starts the scripts: node:http, one
      // Unix-socket connection per request to a python3 helper that posix_spawns hello.sh onto it, piped into the answer.
      id: 'floor-script',
      label: 'floor: node:http + one helper connection per request (posix_spawn)',
      floor: true,
      scenarios: ['cgi-sh'],
      cpuSplit: true,
      helperPattern: 'floor-script-helper',
      expect: { 'cgi-sh': (fx) => ({ status: 200, body: fx.stdout.sh }) },
      note: 'its answer is the script’s stdout unparsed, CGI header block included, behind a fixed 200 head',
      argv: (port, fx) => [
        process.execPath, join(here, '..', 'floor-script-server.mjs'), String(port), join(fx.work, `floor-script-${port}.sock`), join(fx.root, 'cgi-bin', 'hello.sh'),
      ],
    },
    {
      id: 'sirv',
      label: 'sirv-cli',
      scenarios: STATIC.filter((s) => s !== 'listing'),
      argv: (port, fx) => [process.execPath, binOf('sirv-cli', 'sirv'), fx.root, '--quiet', '--etag', '--host', '127.0.0.1', '--port', String(port)],
    },
    {
      // Issue 18: sirv compresses nothing itself; it sends the .br/.gz copies it finds (--gzip and --brotli are its defaults).
      id: 'sirv-precompressed',
      label: 'sirv-cli --brotli --gzip (precompressed copies)',
      scenarios: ['compress-100k'],
      argv: (port, fx) => [
        process.execPath, binOf('sirv-cli', 'sirv'), fx.precompressedRoot, '--quiet', '--etag', '--brotli', '--gzip', '--host', '127.0.0.1', '--port', String(port),
      ],
    },
    {
      id: 'http-server',
      label: 'http-server',
      scenarios: STATIC,
      argv: (port, fx) => [process.execPath, binOf('http-server'), fx.root, '-s', '-a', '127.0.0.1', '-p', String(port)],
    },
    {
      id: 'serve',
      label: 'serve',
      scenarios: STATIC,
      argv: (port, fx) => [
        process.execPath, binOf('serve'), fx.root, '--no-request-logging', '--no-clipboard', '--no-port-switching',
        '--listen', `tcp://127.0.0.1:${port}`,
      ],
    },
    {
      id: 'python',
      label: `python http.server --cgi (${PYTHON})`,
      scenarios: [...STATIC, ...CGI],
      argv: (port, fx) => [PYTHON, '-m', 'http.server', '--cgi', '--bind', '127.0.0.1', '--directory', fx.root, String(port)],
    },
    {
      id: 'lighttpd',
      label: 'lighttpd + mod_cgi',
      scenarios: [...STATIC, ...CGI],
      missing: lighttpd ? null : 'lighttpd is not installed (the bench installs it with apt-get when run as root)',
      argv: (port, fx) => [lighttpd, '-D', '-f', lighttpdConfig(port, fx)],
    },
  ];
}
