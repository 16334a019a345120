// The script floor (issue 15): the least Node CPU a script request can take
// when a helper process starts the scripts. A bare node:http server, no
// framework, that per request reads the body, opens ONE Unix-socket
// connection to floor-script-helper.py, writes one JSON line (argv, a fixed
// CGI environment, the body's length) and the body in one write, and pipes
// that connection into the response behind a fixed 200 head. The helper
// posix_spawns the script with the connection as its stdout, so the reply is
// the script's raw stdout, its CGI header block included: nothing is parsed,
// no status decided, no environment built from the request, no timer, no
// limit, no log. Whatever scriptserve does beyond this is its own cost.
// Measured by `npm run bench` (bench/lib/servers.mjs, id floor-script) in the
// /bin/sh CGI scenario, its Node CPU per request split like scriptserve's.
//
// Usage: node floor-script-server.mjs PORT SOCKET_PATH SCRIPT
// It starts the helper (python3, a child that lives as long as it does) and
// listens on 127.0.0.1:PORT once the helper listens on SOCKET_PATH; every
// request runs `/bin/sh SCRIPT`, whatever its path.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON } from './lib/fixtures.mjs';

const [port, socketPath, script] = process.argv.slice(2);
const HELPER = join(dirname(fileURLToPath(import.meta.url)), 'floor-script-helper.py');
/** The script's stdout carries its own Content-Type line; this head is the same for every answer (chunked). */
const HEAD = ['Content-Type', 'text/plain'];

// The request line up to its per-request parts (method and body length):
// the few CGI variables a shell script reads, fixed at start-up.
const ENV = { PATH: '/usr/bin:/bin', GATEWAY_INTERFACE: 'CGI/1.1', SERVER_PROTOCOL: 'HTTP/1.1', SCRIPT_NAME: `/cgi-bin/${script.split('/').pop()}` };
const LINE_START = `{"argv":${JSON.stringify(['/bin/sh', script])},"env":${JSON.stringify(ENV).slice(0, -1)},"REQUEST_METHOD":"`;

/** One script run: the request line and the body in one write, the connection piped into the response. */
function runScript(req, res, body) {
  const conn = connect(socketPath);
  conn.on('error', () => res.destroy());
  // A client that leaves before the script ends: let go of the connection (the script gets EPIPE).
  res.on('close', () => conn.destroy());
  const line = `${LINE_START}${req.method}","CONTENT_LENGTH":"${body.length}"},"n":${body.length}}\n`;
  conn.write(body.length ? Buffer.concat([Buffer.from(line, 'latin1'), body]) : line);
  res.writeHead(200, HEAD);
  conn.pipe(res);
}

function serve() {
  http
    .createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => runScript(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    })
    .listen(Number(port), '127.0.0.1');
}

// The helper: stdin a pipe it watches for our exit, stdout its "ready" line, stderr our log.
const helper = spawn(PYTHON, [HELPER, socketPath], { stdio: ['pipe', 'pipe', 'inherit'] });
helper.on('exit', (code, signal) => {
  process.stderr.write(`floor-script-server: the helper exited (${signal ?? `code ${code}`})\n`);
  process.exit(1);
});
helper.stdout.once('data', serve);
