import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { inheritedVariables } from '../env.js';

/**
 * The CPython versions (major.minor) whose warm and spawn-helper tests pass
 * (test/warm.test.mjs with Debian's python3, test/python-versions.test.mjs
 * with every other one present). The helper process relies on Linux
 * (SO_PEERCRED, /proc), glibc's ABI sizes and private CPython names
 * (`os.environ._data`, `threading._shutdown`, `atexit._run_exitfuncs`), and
 * warm children on `sys.orig_argv` (3.10+: 3.6-3.9 fail at the fork
 * server's start). On 2026-12-03 the full warm suite passed with 3.10.13,
 * 3.11.2 (Debian), 3.12.1 and 3.13.0 (`SCRIPTSERVE_TEST_PYTHON=... node
 * --test test/warm.test.mjs`). Add a version here only with its tests passing.
 */
export const TESTED_PYTHON_VERSIONS: readonly string[] = ['3.10', '3.11', '3.12', '3.13'];

/** The interpreter a helper reported (its ready line) or a probe found. */
export interface PythonIdentity {
  /** sys.implementation.name: `cpython` for CPython. */
  readonly implementation: string;
  /** major.minor.micro */
  readonly version: string;
}

/** Why no helper process can run on this platform; null on Linux. */
export function platformRefusal(platform: NodeJS.Platform = process.platform): string | null {
  return platform === 'linux' ? null : `it needs Linux (SO_PEERCRED, /proc), and this is ${platform}`;
}

/** Why a helper must not run on this interpreter; null when its version is tested. */
export function pythonRefusal({ implementation, version }: PythonIdentity): string | null {
  const minor = version.split('.').slice(0, 2).join('.');
  if (implementation === 'cpython' && TESTED_PYTHON_VERSIONS.includes(minor)) return null;
  const name = implementation === 'cpython' ? 'CPython' : implementation;
  return `${name} ${version} is not a tested interpreter (CPython ${TESTED_PYTHON_VERSIONS.join(', ')})`;
}

/** `ready JOB IMPLEMENTATION VERSION` (scriptserve_loop.ready_line); null for any other line. */
export function parseReadyLine(line: string): (PythonIdentity & { readonly job: string }) | null {
  const m = /^ready (\S+) (\S+) (\d+\.\d+\.\d+)$/.exec(line);
  return m ? { job: m[1]!, implementation: m[2]!, version: m[3]! } : null;
}

const PROBE = "import sys; print(sys.implementation.name, '%d.%d.%d' % sys.version_info[:3])";
const probed = new Map<string, string | null>();

/**
 * Why warm mode must not start with this interpreter (not Linux, not CPython,
 * an untested version, it does not run); null when it may. The interpreter
 * runs once with its flags, in the working directory and environment its
 * fork server would get (a pyenv shim picks its version from them), and the
 * answer is remembered for this process.
 */
export function warmPythonRefusal(argv: readonly string[], cwd: string, passEnv: readonly string[]): string | null {
  const platform = platformRefusal();
  if (platform) return `warm python: ${platform}`;
  const env = inheritedVariables({ serverEnv: process.env, passEnv });
  let key = `${argv.join('\0')}\0${cwd}\0${JSON.stringify(env)}`;
  try {
    const st = statSync(argv[0]!);
    key += `\0${st.ino}:${st.mtimeMs}`;
  } catch {
    /* execFileSync below says why */
  }
  if (!probed.has(key)) probed.set(key, probe(argv, cwd, env));
  return probed.get(key)!;
}

function probe(argv: readonly string[], cwd: string, env: Record<string, string>): string | null {
  let out: string;
  try {
    out = execFileSync(argv[0]!, [...argv.slice(1), '-c', PROBE], { cwd, env, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    return `warm python: cannot run ${argv.join(' ')}: ${(err as Error).message.split('\n')[0]}`;
  }
  const [implementation = '', version = ''] = out.trim().split(' ');
  const why = pythonRefusal({ implementation, version });
  return why ? `warm python: ${argv.join(' ')}: ${why}` : null;
}
