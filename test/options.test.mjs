// The option table (issue 13): the engine that reads a table (command line,
// --help, values from a caller or a config file), driven by a test-only table
// with every shape the coming issues need; then scriptserve's own table
// against the README and the library's and config file's rules.
import assert from 'node:assert/strict';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BOOLEAN,
  ConfigError,
  InvalidArgumentError,
  NUMBER,
  STRING,
  STRINGS,
  checkOptionValues,
  either,
  helpRows,
  listOf,
  parseCommandLine,
} from '../dist/option-spec.js';
import { OPTIONS } from '../dist/options.js';
import { resolveConfig } from '../dist/index.js';
import { ROOT_DIR, rmSync, runCli, tempDir, writeTree } from './helpers.mjs';

const port = (raw) => {
  if (!/^\d+$/.test(raw)) throw new InvalidArgumentError('must be a port number.');
  return Number(raw);
};

/** A table with one option of every shape; none of these flags is scriptserve's. */
const TABLE = {
  listing: { kind: BOOLEAN, flag: 'listing', no: 'answer 403 instead of listing' },
  cgi: { kind: BOOLEAN, flag: 'cgi', help: 'run scripts', no: 'never run scripts' },
  headers: { kind: STRINGS, flag: 'header', short: 'H', arg: 'header', repeat: true, help: 'add a header, repeatable' },
  spa: { kind: either(BOOLEAN, STRING, 'true or a file'), flag: 'spa', arg: 'file', optional: true, help: 'single-page app' },
  routes: {
    kind: listOf(), flag: 'route', arg: 'spec', repeat: true, help: 'a route', parse: (spec) => ({ spec }),
    qualifier: { flag: 'route-type', arg: 'type', help: 'type of the --route before it', apply: (r, type) => ({ ...r, type }) },
  },
  quiet: { kind: BOOLEAN, scope: 'cli', flag: 'quiet', short: 'q', help: 'no log' },
  mounts: { kind: listOf() },
  port: { kind: NUMBER, scope: 'cli', flag: 'port', short: 'p', arg: 'port', parse: port, help: 'port' },
  secret: { kind: STRING, scope: 'caller', flag: 'secret', arg: 'word', help: 'a credential' },
  help: { kind: BOOLEAN, scope: 'cli', flag: 'help', short: 'h', help: 'show this help' },
};

const parse = (argv) => parseCommandLine(TABLE, argv, ['help']);

describe('parseCommandLine with a table of every shape', () => {
  const ok = [
    ['nothing given: every option undefined, not false', [], {}, []],
    ['--no-X sets false', ['--no-listing'], { listing: false }, []],
    ['--X and --no-X: the last one wins', ['--cgi', '--no-cgi'], { cgi: false }, []],
    ['--no-X and --X: the last one wins', ['--no-cgi', '--cgi'], { cgi: true }, []],
    ['repeatable, long and short, separate and attached', ['-H', 'A: 1', '--header', 'B: 2', '-HC: 3', '--header=D: 4'], { headers: ['A: 1', 'B: 2', 'C: 3', 'D: 4'] }, []],
    ['optional value left out', ['--spa'], { spa: true }, []],
    ['optional value attached', ['--spa=shell.html'], { spa: 'shell.html' }, []],
    ['optional value: the next word stays a positional', ['--spa', 'dist'], { spa: true }, ['dist']],
    ['a qualifier changes the item before it', ['--route', 'a', '--route-type', 'json', '--route', 'b'], { routes: [{ spec: 'a', type: 'json' }, { spec: 'b' }] }, []],
    ['a qualifier with other flags between', ['--route', 'a', '-q', '--route-type', 'json'], { routes: [{ spec: 'a', type: 'json' }], quiet: true }, []],
    ['short switch and value grouped', ['-qp80'], { quiet: true, port: 80 }, []],
    ['a value parsed by its spec', ['-p', '8080', 'site'], { port: 8080 }, ['site']],
    ['-- ends the options', ['--', '--cgi'], {}, ['--cgi']],
    ['a value that starts with a dash, attached', ['--secret=-x'], { secret: '-x' }, []],
    ['--help wins over bad values (they are not converted)', ['-p', 'abc', '--help'], { help: true }, []],
  ];
  for (const [name, argv, values, positionals] of ok) {
    test(name, () => {
      const line = parse(argv);
      assert.deepEqual(line.values, values);
      assert.deepEqual(line.positionals, positionals);
    });
  }

  const bad = [
    ['a negation-only option has no positive flag', ['--listing'], /^unknown option '--listing'$/],
    ['a config-only key has no flag', ['--mounts', 'x'], /^unknown option '--mounts'$/],
    ['unknown flag near a real one', ['--heder', 'x'], /^unknown option '--heder' \(did you mean --header\?\)$/],
    ['unknown short flag', ['-x'], /^unknown option '-x'$/],
    ['a switch given a value', ['--quiet=yes'], /^option '-q, --quiet' does not take a value$/],
    ['a negation given a value', ['--no-cgi=1'], /^option '--no-cgi' does not take a value$/],
    ['a value missing', ['-p'], /^option '-p, --port <port>' argument missing$/],
    ['a repeatable value missing', ['--header'], /^option '-H, --header <header>' argument missing$/],
    ['a value that looks like a flag', ['--secret', '-x'], /^option '--secret <word>' needs its value attached to start with a dash: --secret=VALUE$/],
    ['a value its spec refuses', ['-p', 'abc'], /^option '-p, --port <port>' argument 'abc' is invalid: must be a port number\.$/],
    ['a qualifier before what it qualifies', ['--route-type', 'json', '--route', 'a'], /^--route-type must follow the --route it applies to$/],
    ['shape errors come before --help', ['--nope', '--help'], /^unknown option '--nope'$/],
  ];
  for (const [name, argv, message] of bad) {
    test(`refused: ${name}`, () => {
      assert.throws(() => parse(argv), (err) => err instanceof ConfigError && message.test(err.message));
    });
  }

  test('--help rows come from the table, in its order, each flag as it is written', () => {
    assert.deepEqual(helpRows(TABLE).map((r) => r.flags), [
      '--no-listing', '--cgi', '--no-cgi', '-H, --header <header>', '--spa [file]', '--route <spec>', '--route-type <type>',
      '-q, --quiet', '-p, --port <port>', '--secret <word>', '-h, --help',
    ]);
    assert.equal(helpRows(TABLE).find((r) => r.flags === '--no-cgi').help, 'never run scripts');
  });
});

describe('checkOptionValues: a caller\'s or a config file\'s values', () => {
  const check = (values, where) => checkOptionValues(TABLE, values, where, 'option', (key) => `unknown option "${key}"`);
  test('structured config-only keys and every option of the right type pass', () => {
    check({ mounts: [{ path: '/x', dir: 'y' }], listing: false, headers: ['A: 1'], spa: 'a.html' }, 'file');
    check({ secret: 'x', spa: true }, 'caller');
  });
  const bad = [
    ['a key of no option', { colour: 'blue' }, 'caller', /^unknown option "colour"$/],
    ['a command-line-only key from a caller', { port: 80 }, 'caller', /^unknown option "port"$/],
    ['a caller-only key (a credential) in a file', { secret: 'x' }, 'file', /^unknown option "secret"$/],
    ['a string for a boolean', { listing: 'false' }, 'file', /^option "listing" must be a boolean, not "false"$/],
    ['an object where a list goes', { mounts: {} }, 'file', /^option "mounts" must be a list, not \{\}$/],
    ['a number for either of two kinds', { spa: 1 }, 'file', /^option "spa" must be true or a file, not 1$/],
    ['an inherited name is no option', { toString: 'x' }, 'caller', /^unknown option "toString"$/],
  ];
  for (const [name, values, where, message] of bad) {
    test(`refused: ${name}`, () => {
      assert.throws(() => check(values, where), (err) => err instanceof ConfigError && message.test(err.message));
    });
  }
});

describe("scriptserve's table", () => {
  /** Flags (`-d`, `--directory`) named in the first column of each row of a Markdown table. */
  function readmeFlags() {
    const readme = readFileSync(join(ROOT_DIR, 'README.md'), 'utf8');
    // Whatever its level, the README has one heading "Options" whose first table is the list.
    const start = readme.search(/^#{2,4} Options$/m);
    assert.ok(start >= 0, 'README.md has an "Options" heading');
    const rows = readme.slice(start).split('\n').slice(1);
    const table = rows.slice(rows.findIndex((l) => l.startsWith('|')));
    const body = table.slice(0, table.findIndex((l) => !l.startsWith('|'))).slice(2);
    return body.flatMap((row) => [...row.split('|')[1].matchAll(/(?<![\w-])(--?[A-Za-z][\w-]*)/g)].map((m) => m[1]));
  }

  /** Flags named in the Options section of --help. */
  async function helpFlags() {
    const { code, stdout } = await runCli(['--help']);
    assert.equal(code, 0);
    const options = stdout.slice(stdout.indexOf('\nOptions:\n'));
    return [...options.matchAll(/^ {2}(-\S.*?)(?: {2,}|$)/gm)].flatMap((m) => [...m[1].matchAll(/(?<![\w-])(--?[A-Za-z][\w-]*)/g)].map((f) => f[1]));
  }

  test("README.md's options table lists exactly the flags of --help", async () => {
    const readme = readmeFlags();
    const help = await helpFlags();
    assert.ok(help.length > 30, `--help lists the options (${help.length})`);
    assert.deepEqual([...new Set(readme)].sort(), [...new Set(help)].sort());
    assert.equal(readme.length, new Set(readme).size, 'no flag listed twice in the README');
  });

  test('every flag has help text, and no two options share a flag', () => {
    const rows = helpRows(OPTIONS);
    for (const row of rows) assert.ok(row.help.length > 10, `${row.flags} has help text`);
    assert.equal(new Set(rows.map((r) => r.flags)).size, rows.length);
  });

  let site;
  before(() => {
    site = realpathSync(tempDir('scriptserve-options-'));
    writeTree(site, { 'sub/x.txt': 'x' });
  });
  after(() => rmSync(site, { recursive: true, force: true }));

  const withFile = (data) => {
    const file = join(site, `config-${Math.random().toString(36).slice(2)}.json`);
    writeTree(site, { [file.slice(site.length + 1)]: JSON.stringify(data) });
    return file;
  };

  test('the library refuses keys that are not its options, the command line\'s own included', () => {
    for (const [options, key] of [[{ root: site, colour: 'blue' }, 'colour'], [{ root: site, port: 8080 }, 'port'], [{ root: site, workers: 2 }, 'workers'], [{ root: site, quiet: true }, 'quiet']]) {
      assert.throws(() => resolveConfig(options), (err) => err instanceof ConfigError && err.message === `unknown option "${key}"`);
    }
  });

  test('a config file may not set credentials, the root, logging or the command line\'s own options', () => {
    for (const key of ['auth', 'authFile', 'root', 'configFile', 'logFormat', 'log', 'port', 'bind', 'workers', 'shutdownGrace', 'quiet', 'help']) {
      const file = withFile({ [key]: key === 'auth' ? ['a:b'] : 'x' });
      assert.throws(() => resolveConfig({ root: site, configFile: file }), (err) => err instanceof ConfigError && err.message.endsWith(`unknown key "${key}"`), key);
    }
  });

  test('a config file sets the options it may, structured routes included; the caller\'s values win', () => {
    const file = withFile({ listing: false, dotfiles: 'allow', cache: 5, routes: [{ method: 'GET', path: '/r', command: 'true' }] });
    const config = resolveConfig({ root: site, configFile: file, cache: 7 });
    assert.equal(config.listing, false);
    assert.equal(config.dotfiles, 'allow');
    assert.equal(config.cacheControl, 'max-age=7');
    assert.deepEqual(config.routes.map((r) => r.path), ['/r']);
  });
});
