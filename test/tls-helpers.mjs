// Helpers for the TLS and HTTP/2 tests: certificates made with the selfsigned
// library, a library server on 127.0.0.1:0 of any transport, and HTTP/2
// requests with node:http2 (every wait has a deadline).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { closeGracefully, createServer } from '../dist/index.js';
import { deadline, PYTHON, WARM } from './helpers.mjs';

/**
 * Write a certificate and key for `names` into dir as `<base>.crt`/`<base>.key`;
 * `passphrase` encrypts the key. Resolves { cert, key } paths and the PEM texts.
 */
export async function makeCert(dir, base, { names = ['localhost', '127.0.0.1'], notBeforeDate, notAfterDate, passphrase } = {}) {
  const pems = await generate([{ name: 'commonName', value: names[0] }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBeforeDate ?? new Date(Date.now() - 60_000),
    notAfterDate: notAfterDate ?? new Date(Date.now() + 30 * 24 * 3600 * 1000),
    extensions: [{ name: 'subjectAltName', altNames: names.map((n) => (/^[\d.:]+$/.test(n) ? { type: 7, ip: n } : { type: 2, value: n })) }],
  });
  let keyPem = pems.private;
  if (passphrase !== undefined) {
    keyPem = createPrivateKey(keyPem).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase });
  }
  const cert = join(dir, `${base}.crt`);
  const key = join(dir, `${base}.key`);
  writeFileSync(cert, pems.cert);
  writeFileSync(key, keyPem);
  return { cert, key, certPem: pems.cert, fingerprint: new X509Certificate(pems.cert).fingerprint256 };
}

/** A library server on 127.0.0.1:0 (warm Python in the warm pass, as startServer): { server, port, logs, close }. */
export async function startAny(options) {
  const logs = [];
  const server = createServer({ log: (line) => logs.push(line), ...(WARM ? { warmPython: true, warmInterpreter: PYTHON } : {}), ...options });
  await deadline(new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  }), 5000, 'listen');
  return { server, port: server.address().port, logs, close: () => deadline(closeGracefully(server, 500), 5000, 'close') };
}

/** An HTTP/2 session to `authority` (https: trusts any certificate; http: prior knowledge). */
export function h2session(authority, options = {}) {
  const session = h2connect(authority, { rejectUnauthorized: false, ...options });
  session.on('error', () => {});
  return session;
}

/** One request on a session: { status, headers, body: Buffer }. */
export function h2get(session, path, { method = 'GET', headers = {}, body, timeout = 10000 } = {}) {
  return deadline(new Promise((resolve, reject) => {
    const stream = session.request({ ':method': method, ':path': path, ...headers }, { endStream: body === undefined });
    let head;
    const chunks = [];
    stream.on('response', (h) => (head = h));
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => resolve({ status: head?.[':status'], headers: head ?? {}, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.on('close', () => {
      if (!head) reject(new Error(`stream closed without a response (code ${stream.rstCode})`));
    });
    if (body !== undefined) stream.end(body);
  }), timeout, `${method} ${path} over HTTP/2`);
}

/** Parse `KEY=value` lines (the env.py fixture's output). */
export function envOf(text) {
  return Object.fromEntries(text.toString().split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}
