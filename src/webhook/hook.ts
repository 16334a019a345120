import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { createAuthenticator, loadHtpasswd } from '../access.js';
import { ConfigError } from '../option-spec.js';
import { compileRule, compileSource, RuleError, type Rule, type RuleSpec, type Source, type SourceSpec } from './rules.js';
import { createVerifier, type Verifier, type VerifySpec } from './verify.js';

/** A route's signature check as written in scriptserve.json: the spec plus where its secret is. */
export type VerifyOptions = VerifySpec & { secretEnv?: string; secretFile?: string };

/** The webhook keys of a route in scriptserve.json (see README "Webhooks"). */
export interface HookOptions {
  /** Check the sender's signature or token before anything runs; a failure is 403. */
  verify?: VerifyOptions;
  /** An htpasswd file whose users may call this route (in addition to --auth/--auth-file). */
  authFile?: string;
  /** Addresses or CIDRs that may call this route; others get 403. */
  allowFrom?: string[];
  /** Trigger only when the request matches; otherwise 202 "not triggered" and nothing runs. */
  when?: RuleSpec;
  /** Environment variables for the command, each from a payload field, header, query or form value. */
  env?: Record<string, SourceSpec>;
  /** Extra arguments for the command (argv, never a shell), each from a source as in `env`. */
  args?: SourceSpec[];
  /** `wait` (default): the command's output is the answer. `async`: 202 at once, the command runs as a job. */
  response?: 'wait' | 'async';
  /** With `async`: a status page per job at /.well-known/scriptserve/jobs/<id> (Location of the 202). Default false. */
  jobs?: boolean;
  /** With `async`: jobs queued or running for this route at most; more is 503. Default 16. */
  maxJobs?: number;
}

/** A route's webhook behaviour, validated and compiled at start-up (and on reload). */
export interface Hook {
  /** The signature check, and its type for log lines; null when the route verifies nothing. */
  readonly verifier: Verifier | null;
  readonly authenticate: ((req: IncomingMessage) => Promise<string>) | null;
  readonly allowFrom: BlockList | null;
  readonly when: Rule | null;
  readonly env: readonly (readonly [string, Source])[];
  readonly args: readonly Source[];
  readonly async: boolean;
  readonly jobs: boolean;
  readonly maxJobs: number;
  /** Rules or mappings read the body (payload or form): it is spooled and parsed. */
  readonly readsBody: boolean;
  /** The secret and htpasswd files it reads (never served as files). */
  readonly files: readonly string[];
}

export const DEFAULT_MAX_JOBS = 16;
/** Largest value a mapping hands to a command (environment variable or argument). */
export const MAX_MAPPED_VALUE_BYTES = 128 * 1024;

const HOOK_KEYS = ['verify', 'authFile', 'allowFrom', 'when', 'env', 'args', 'response', 'jobs', 'maxJobs'] as const;

/**
 * Names a mapping may not set: those the server sets itself (PATH, the CGI
 * meta-variables, request headers as HTTP_*, the locale it passes on) and
 * those that change how a program or its interpreter loads code, since a
 * mapped value comes from the request.
 */
const RESERVED_NAMES = new Set([
  'PATH', 'LANG', 'TZ', 'GATEWAY_INTERFACE', 'SERVER_SOFTWARE', 'SERVER_PROTOCOL', 'SERVER_NAME', 'SERVER_PORT',
  'REQUEST_METHOD', 'REQUEST_URI', 'REQUEST_SCHEME', 'QUERY_STRING', 'SCRIPT_NAME', 'SCRIPT_FILENAME', 'PATH_INFO',
  'PATH_TRANSLATED', 'DOCUMENT_ROOT', 'REMOTE_ADDR', 'REMOTE_HOST', 'REMOTE_PORT', 'REMOTE_USER', 'REMOTE_IDENT',
  'AUTH_TYPE', 'CONTENT_LENGTH', 'CONTENT_TYPE', 'HTTPS', 'REDIRECT_STATUS', 'HOME', 'SHELL', 'IFS', 'ENV',
  'BASH_ENV', 'SHELLOPTS', 'PS4', 'NODE_OPTIONS', 'RUBYOPT', 'RUBYLIB', 'PERL5LIB', 'PERL5OPT', 'PERLLIB', 'GCONV_PATH',
]);
const RESERVED_PREFIXES = ['LD_', 'DYLD_', 'HTTP_', 'LC_', 'PYTHON', 'GIT_CONFIG'];

/** Does a route written in the config file use any webhook key? */
export function hasHookKeys(route: object): boolean {
  return HOOK_KEYS.some((k) => k in route);
}

/**
 * Validate and compile a route's webhook keys. Secrets are read here, from
 * the server's environment or a file, never from the config file: a missing
 * or empty one is a ConfigError, so the server does not start (or a reload is
 * refused) rather than accept unsigned deliveries.
 */
export function resolveHook(o: HookOptions, what: string, baseDir: string, env: NodeJS.ProcessEnv = process.env): Hook {
  try {
    const response = o.response ?? 'wait';
    if (response !== 'wait' && response !== 'async') throw new ConfigError(`${what}: response must be "wait" or "async"`);
    if (o.jobs !== undefined && typeof o.jobs !== 'boolean') throw new ConfigError(`${what}: jobs must be true or false`);
    if (o.jobs && response !== 'async') throw new ConfigError(`${what}: jobs needs "response": "async"`);
    const maxJobs = o.maxJobs ?? DEFAULT_MAX_JOBS;
    if (!Number.isInteger(maxJobs) || maxJobs < 1) throw new ConfigError(`${what}: maxJobs must be a positive integer`);
    const envMap = Object.entries(o.env ?? {}).map(([name, spec]) => [checkEnvName(name, what), compileSource(spec, `${what} env ${name}`)] as const);
    if (o.args !== undefined && !Array.isArray(o.args)) throw new ConfigError(`${what}: args must be a list`);
    const args = (o.args ?? []).map((spec, i) => compileSource(spec, `${what} args[${i}]`));
    const readsBody = o.when !== undefined || envMap.length > 0 || args.length > 0;
    return {
      verifier: o.verify === undefined ? null : verifierFor(o.verify, what, baseDir, env),
      authenticate: o.authFile === undefined ? null : createAuthenticator(loadUsers(o.authFile, what, baseDir)),
      allowFrom: o.allowFrom === undefined ? null : blockList(o.allowFrom, what),
      when: o.when === undefined ? null : compileRule(o.when, `${what} when`),
      env: envMap,
      args,
      async: response === 'async',
      jobs: o.jobs ?? false,
      maxJobs,
      readsBody,
      files: [o.verify?.secretFile, o.authFile].filter((f): f is string => typeof f === 'string').map((f) => resolvePath(baseDir, f)),
    };
  } catch (err) {
    if (err instanceof RuleError) throw new ConfigError(err.message);
    throw err;
  }
}

function checkEnvName(name: string, what: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ConfigError(`${what}: env name ${JSON.stringify(name)} is not a variable name`);
  const upper = name.toUpperCase();
  if (RESERVED_NAMES.has(upper) || RESERVED_PREFIXES.some((p) => upper.startsWith(p))) {
    throw new ConfigError(`${what}: env ${name} is set by the server or changes how programs load code; choose another name`);
  }
  return name;
}

function verifierFor(v: VerifyOptions, what: string, baseDir: string, env: NodeJS.ProcessEnv): Verifier {
  if (typeof v !== 'object' || v === null) throw new ConfigError(`${what}: verify must be an object`);
  const types = ['hmac-sha256', 'hmac-sha1', 'hmac-sha512', 'token', 'stripe', 'slack'];
  if (!types.includes(v.type)) throw new ConfigError(`${what}: verify type must be one of ${types.join(', ')}`);
  if ((v.type.startsWith('hmac-') || v.type === 'token') && (typeof (v as { header?: unknown }).header !== 'string' || !(v as { header: string }).header)) {
    throw new ConfigError(`${what}: verify ${v.type} needs "header"`);
  }
  if ('tolerance' in v && v.tolerance !== undefined && (typeof v.tolerance !== 'number' || !(v.tolerance > 0))) {
    throw new ConfigError(`${what}: verify tolerance must be a positive number of seconds`);
  }
  if ((v.secretEnv === undefined) === (v.secretFile === undefined)) throw new ConfigError(`${what}: verify needs exactly one of secretEnv or secretFile`);
  if ('secret' in v) throw new ConfigError(`${what}: secrets never go in the config file; use secretEnv or secretFile`);
  return createVerifier(v, readSecret(v, what, baseDir, env));
}

function readSecret(v: VerifyOptions, what: string, baseDir: string, env: NodeJS.ProcessEnv): Buffer {
  let secret: string;
  if (v.secretEnv !== undefined) {
    secret = env[v.secretEnv] ?? '';
    if (secret === '') throw new ConfigError(`${what}: the secret variable ${v.secretEnv} is not set or empty`);
  } else {
    const file = resolvePath(baseDir, v.secretFile!);
    try {
      // One trailing newline is what `echo secret > file` adds; it is not part of the secret.
      secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(`${what}: cannot read the secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (secret === '') throw new ConfigError(`${what}: the secret file ${file} is empty`);
  }
  return Buffer.from(secret, 'utf8');
}

function loadUsers(file: string, what: string, baseDir: string): ReturnType<typeof loadHtpasswd> {
  try {
    const users = loadHtpasswd(resolvePath(baseDir, file));
    if (users.size === 0) throw new ConfigError(`${what}: authFile ${file} has no users`);
    return users;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${what}: ${(err as Error).message}`);
  }
}

/** `allowFrom` as a node:net BlockList (addresses and CIDRs, IPv4 and IPv6). */
function blockList(list: unknown, what: string): BlockList {
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`${what}: allowFrom must be a non-empty list of addresses or CIDRs`);
  const out = new BlockList();
  for (const entry of list) {
    const m = typeof entry === 'string' ? /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry.trim()) : null;
    const family = m ? isIP(m[1]!) : 0;
    const bits = m?.[2] === undefined ? null : Number(m[2]);
    if (!m || family === 0 || (bits !== null && bits > (family === 4 ? 32 : 128))) {
      throw new ConfigError(`${what}: allowFrom entry ${JSON.stringify(entry)} is not an address or CIDR`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === null) out.addAddress(m[1]!, type);
    else out.addSubnet(m[1]!, bits, type);
  }
  return out;
}

/** Is this client address in the route's allowFrom list? IPv4 clients of a dual-stack socket (`::ffff:a.b.c.d`) count as IPv4. */
export function allowedFrom(list: BlockList, address: string): boolean {
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  const family = isIP(plain);
  return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

function resolvePath(baseDir: string, file: string): string {
  return file.startsWith('/') ? file : `${baseDir}/${file}`;
}
