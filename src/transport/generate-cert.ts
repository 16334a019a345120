/**
 * Child process of tls.ts: generate a self-signed certificate with the
 * `selfsigned` library (asynchronous) and print `{cert, key}` as JSON.
 * Argument: `{"names": [...], "days": N}`. EC P-256 and SHA-256, which every
 * current browser and curl accept; the names go in subjectAltName (browsers
 * ignore the common name), IP addresses as IP entries.
 */
import { isIP } from 'node:net';
import { generate } from 'selfsigned';

const { names, days } = JSON.parse(process.argv[2] ?? '{}') as { names: string[]; days: number };
const notBeforeDate = new Date(Date.now() - 60_000); // a minute of slack for clocks a little behind
const notAfterDate = new Date(notBeforeDate.getTime() + days * 24 * 3600 * 1000);
const pems = await generate([{ name: 'commonName', value: names[0] ?? 'localhost' }, { name: 'organizationName', value: 'scriptserve self-signed' }], {
  keyType: 'ec',
  curve: 'P-256',
  algorithm: 'sha256',
  notBeforeDate,
  notAfterDate,
  extensions: [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })) },
  ],
});
process.stdout.write(JSON.stringify({ cert: pems.cert, key: pems.private }));
