/**
 * TLS material: a certificate and key read from files (`--tls-cert`,
 * `--tls-key`, `--tls-password-file`) or a self-signed pair kept in the
 * user's cache directory (`--tls-self-signed`). Everything is checked here,
 * once, so a bad file is one line at start-up (a ConfigError) or one refused
 * reload (SIGHUP), never a failed handshake per client.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { lazy } from '../lazy.js';

/** node:tls, loaded only when TLS is configured (lazy.ts). */
const tls = lazy<typeof import('node:tls')>('node:tls');
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../option-spec.js';

/** Where the certificate comes from: files, or the self-signed cache for these names. */
export type TlsSource =
  | { readonly kind: 'files'; readonly cert: string; readonly key: string; readonly passwordFile: string | null }
  | { readonly kind: 'self-signed'; readonly names: readonly string[] };

/** A loaded, checked certificate and key, ready for `tls.createSecureContext`. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly passphrase: string | undefined;
  /** SHA-256 fingerprint of the leaf certificate, `AB:CD:…`. */
  readonly fingerprint: string;
  /** Path of the certificate file (the cache's, for a self-signed one). */
  readonly certPath: string;
  /** Start-up warnings (an expired or not-yet-valid certificate): printed, not fatal. */
  readonly warnings: readonly string[];
}

/** A self-signed certificate is valid this long, and replaced once fewer than RENEW_BEFORE_DAYS remain. */
export const SELF_SIGNED_DAYS = 365;
export const RENEW_BEFORE_DAYS = 30;
const DAY_MS = 24 * 3600 * 1000;

/** Load and check the material of a source; throws ConfigError with one line. */
export function loadTls(source: TlsSource, now = new Date()): TlsMaterial {
  return source.kind === 'files' ? loadFiles(source, now) : loadSelfSigned(source.names, now);
}

function readOrFail(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new ConfigError(`cannot read ${what} ${path}: ${why}`);
  }
}

function loadFiles(source: TlsSource & { kind: 'files' }, now: Date): TlsMaterial {
  const cert = readOrFail(source.cert, 'TLS certificate');
  const key = readOrFail(source.key, 'TLS key');
  const passphrase = source.passwordFile === null ? undefined : firstLine(readOrFail(source.passwordFile, 'TLS password file'));
  return checkMaterial(cert, key, passphrase, source.cert, source.key, now);
}

/** The password is the file's first line, without its line end (as Python's ssl and nginx's ssl_password_file read it). */
function firstLine(data: Buffer): string {
  return data.toString('utf8').split(/\r?\n/, 1)[0]!;
}

/**
 * Parse the leaf certificate and the key, check that they belong together and
 * that OpenSSL accepts the pair; note a certificate outside its validity.
 */
function checkMaterial(cert: Buffer, key: Buffer, passphrase: string | undefined, certPath: string, keyPath: string, now: Date): TlsMaterial {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`TLS certificate ${certPath} is not a PEM certificate`);
  }
  const privateKey = parseKey(key, passphrase, keyPath);
  if (!leaf.checkPrivateKey(privateKey)) throw new ConfigError(`TLS key ${keyPath} does not match the certificate ${certPath}`);
  try {
    tls().createSecureContext({ cert, key, passphrase });
  } catch (err) {
    throw new ConfigError(`TLS certificate ${certPath} or key ${keyPath} refused: ${(err as Error).message}`);
  }
  return { cert, key, passphrase, fingerprint: leaf.fingerprint256, certPath, warnings: validityWarnings(leaf, certPath, now) };
}

function parseKey(key: Buffer, passphrase: string | undefined, keyPath: string): KeyObject {
  // PKCS#8 `ENCRYPTED PRIVATE KEY`, or the traditional `Proc-Type: 4,ENCRYPTED`.
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/.test(key.toString('latin1'));
  if (encrypted && passphrase === undefined) throw new ConfigError(`TLS key ${keyPath} is encrypted: give its password with --tls-password-file`);
  try {
    return createPrivateKey({ key, passphrase, format: 'pem' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (encrypted && (code === 'ERR_OSSL_BAD_DECRYPT' || /bad decrypt/i.test((err as Error).message))) throw new ConfigError(`wrong password for TLS key ${keyPath}`);
    throw new ConfigError(`TLS key ${keyPath} is not a PEM private key`);
  }
}

function validityWarnings(leaf: X509Certificate, certPath: string, now: Date): string[] {
  const from = new Date(leaf.validFrom);
  const to = new Date(leaf.validTo);
  if (now > to) return [`TLS certificate ${certPath} expired on ${to.toISOString()}; clients will refuse it`];
  if (now < from) return [`TLS certificate ${certPath} is not valid before ${from.toISOString()}; clients will refuse it`];
  return [];
}

/** The user's cache directory for scriptserve: `$XDG_CACHE_HOME/scriptserve`, else `~/.cache/scriptserve`. */
export function cacheDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'scriptserve');
}

/** The cache files of one set of names: one pair per set, so binding elsewhere never replaces a trusted certificate. */
function cachePaths(names: readonly string[]): { cert: string; key: string } {
  const id = createHash('sha256').update([...names].sort().join('\n')).digest('hex').slice(0, 12);
  const dir = cacheDirectory();
  return { cert: join(dir, `self-signed-${id}.crt`), key: join(dir, `self-signed-${id}.key`) };
}

/**
 * The cached self-signed pair for these names, or a new one when there is
 * none, it no longer loads, or fewer than {@link RENEW_BEFORE_DAYS} days of
 * validity remain. Files are written 0600 in a 0700 directory, each renamed
 * into place whole (two workers starting at once each write a complete pair).
 */
function loadSelfSigned(names: readonly string[], now: Date): TlsMaterial {
  const paths = cachePaths(names);
  try {
    const material = checkMaterial(readFileSync(paths.cert), readFileSync(paths.key), undefined, paths.cert, paths.key, now);
    const leaf = new X509Certificate(material.cert);
    if (new Date(leaf.validTo).getTime() - now.getTime() > RENEW_BEFORE_DAYS * DAY_MS && material.warnings.length === 0) return material;
  } catch {
    /* missing or unusable: generate below */
  }
  const { cert, key } = generateSelfSigned(names);
  const dir = cacheDirectory();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writePrivate(paths.key, key);
    writePrivate(paths.cert, cert);
  } catch (err) {
    throw new ConfigError(`cannot write the self-signed certificate to ${dir}: ${(err as Error).message}`);
  }
  return checkMaterial(Buffer.from(cert), Buffer.from(key), undefined, paths.cert, paths.key, now);
}

function writePrivate(path: string, data: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, data, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

/**
 * Generate the pair with the `selfsigned` library. Its API is asynchronous
 * and configuration is resolved synchronously, so it runs in a short child
 * Node process (once per name set and year, not per start).
 */
function generateSelfSigned(names: readonly string[]): { cert: string; key: string } {
  const child = fileURLToPath(new URL('./generate-cert.js', import.meta.url));
  try {
    const out = execFileSync(process.execPath, [child, JSON.stringify({ names, days: SELF_SIGNED_DAYS })], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(out) as { cert: string; key: string };
  } catch (err) {
    throw new ConfigError(`cannot generate a self-signed certificate: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** The names a self-signed certificate covers: the loopback names and the bound one (when it is neither a wildcard nor already there). */
export function selfSignedNames(boundHost: string | undefined): string[] {
  const names = ['localhost', '127.0.0.1', '::1'];
  const host = boundHost?.replace(/^\[|\]$/g, '');
  if (host && host !== '0.0.0.0' && host !== '::' && !names.includes(host)) names.push(host);
  return names;
}

/** Resolve the TLS options into a source, or null for plain HTTP. */
export function tlsSourceOf(
  options: { tlsCert?: string; tlsKey?: string; tlsPasswordFile?: string; tlsSelfSigned?: boolean },
  boundHost: string | undefined,
): TlsSource | null {
  const { tlsCert, tlsKey, tlsPasswordFile, tlsSelfSigned } = options;
  if (tlsSelfSigned) {
    if (tlsCert !== undefined || tlsKey !== undefined) throw new ConfigError('--tls-self-signed cannot be combined with --tls-cert/--tls-key');
    return { kind: 'self-signed', names: selfSignedNames(boundHost) };
  }
  if (tlsCert === undefined && tlsKey === undefined) {
    if (tlsPasswordFile !== undefined) throw new ConfigError('--tls-password-file needs --tls-cert and --tls-key');
    return null;
  }
  if (tlsCert === undefined) throw new ConfigError('--tls-key needs --tls-cert');
  if (tlsKey === undefined) throw new ConfigError('--tls-cert needs --tls-key');
  return { kind: 'files', cert: resolve(tlsCert), key: resolve(tlsKey), passwordFile: tlsPasswordFile === undefined ? null : resolve(tlsPasswordFile) };
}
