/**
 * What an option table is, and the three ways one is read: the command line
 * ({@link parseCommandLine}), `--help` ({@link helpRows}) and the values a
 * caller or a config file gives ({@link checkOptionValues}). The table itself
 * is scriptserve's, in options.ts; this module knows nothing of its entries,
 * so the unit tests drive it with tables of their own.
 *
 * The command line is read with node:util.parseArgs in non-strict mode, for
 * its tokens only (each option in order, with its raw name and whether its
 * value was attached), and every rule is checked here from the table. Why not
 * strict parseArgs: Node 20's has no `--no-` negation, no optional value
 * (`--spa [FILE]`), no flag that qualifies the one before it, and its errors
 * come as English sentences a caller could only pattern-match. Why not
 * commander: it would be the one module loaded at start-up for this (the
 * bench's start-up target is under 2 × `node -e 0`), and its messages and
 * help layout differ from the ones users and tests already know. parseArgs is
 * built in, and its tokens carry everything the rules need.
 */
import { parseArgs } from 'node:util';

/** A configuration problem, reported at start-up as one line. */
export class ConfigError extends Error {}

/**
 * A command-line value that a {@link OptionSpec.parse} refuses. Its message
 * completes "option '--flag <value>' argument 'x' is invalid: ".
 */
export class InvalidArgumentError extends Error {}

/** A value's type: the check a config file or a library caller's value must pass, and its TypeScript type `T`. */
export interface Kind<T> {
  /** What the value must be, completing "… must be ": `a number`, `a list of strings`. */
  readonly expected: string;
  readonly test: (value: unknown) => value is T;
  /** The allowed words of a choice; the command line checks them before any parse. */
  readonly choices?: readonly string[];
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

export const BOOLEAN: Kind<boolean> = { expected: 'a boolean', test: (v): v is boolean => typeof v === 'boolean' };
export const NUMBER: Kind<number> = { expected: 'a number', test: (v): v is number => typeof v === 'number' };
export const STRING: Kind<string> = { expected: 'a string', test: (v): v is string => typeof v === 'string' };
export const STRINGS: Kind<string[]> = { expected: 'a list of strings', test: strings };
export const STRING_RECORD: Kind<Record<string, string>> = {
  expected: 'an object of strings',
  test: (v): v is Record<string, string> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string'),
};

/** A list whose items are checked later, where their meaning is known (routes: by resolveConfig). */
export function listOf<T>(): Kind<T[]> {
  return { expected: 'a list', test: (v): v is T[] => Array.isArray(v) };
}

/** One of a few words. */
export function choice<const C extends readonly string[]>(...choices: C): Kind<C[number]> {
  return {
    expected: choices.map((c) => JSON.stringify(c)).join(' or '),
    test: (v): v is C[number] => typeof v === 'string' && choices.includes(v),
    choices,
  };
}

/** A function, such as a log sink. */
export function func<T extends (...args: never[]) => unknown>(): Kind<T> {
  return { expected: 'a function', test: (v): v is T => typeof v === 'function' };
}

/** `a | b`: the value passes either check. */
export function either<A, B>(a: Kind<A>, b: Kind<B>, expected: string): Kind<A | B> {
  return { expected, test: (v): v is A | B => a.test(v) || b.test(v) };
}

/**
 * Where an option may be given. `cli`: the command line only (the port, the
 * process model). `caller`: the command line and the library's options, never
 * a config file (the root, the file itself, logging, credentials: a file
 * inside the served root must not be able to set them). Default: everywhere.
 */
export type Scope = 'cli' | 'caller';

/**
 * One option. Its key in the table is its name in the library's options and
 * the config file. Without `flag` it has no command-line form (a config-file
 * structure, a callback).
 */
export interface OptionSpec<T = unknown> {
  readonly kind: Kind<T>;
  readonly scope?: Scope;
  /** Long flag without the dashes: `port` is `--port`. */
  readonly flag?: string;
  /** One-letter alias: `p` is `-p`. */
  readonly short?: string;
  /** Name of the flag's value in --help (`<port>`); absent: the flag is a switch. */
  readonly arg?: string;
  /**
   * The value may be left out: `--spa` alone, or `--spa=FILE`. Only the
   * attached form gives a value (as GNU getopt's optional arguments), so
   * `--spa dist` still means the directory `dist`.
   */
  readonly optional?: boolean;
  /** The flag may be given again; every value is kept, in order. */
  readonly repeat?: boolean;
  /** --help text of `--flag`; a switch without it has no positive form (only `--no-flag`). */
  readonly help?: string;
  /** --help text of `--no-flag`, which sets the option to false; absent: there is no `--no-flag`. */
  readonly no?: string;
  /** Turns one command-line value into the option's value (or, when repeated, one item of it); throws InvalidArgumentError. */
  readonly parse?: (raw: string) => unknown;
  /** Turns a repeated flag's items into the option's value (default: the list itself). */
  readonly collect?: (items: unknown[]) => T;
  /** A flag that changes the last item of this repeated one: `--route-type` after `--route`. */
  readonly qualifier?: Qualifier;
}

/** See {@link OptionSpec.qualifier}. */
export interface Qualifier {
  readonly flag: string;
  readonly arg: string;
  readonly help: string;
  /** The item with the qualifier's value applied (`never`: any item type is accepted). */
  readonly apply: (item: never, raw: string) => unknown;
}

/** An option table: option name → spec. Order matters: it is the order of --help. */
export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** The type of an option's value. */
export type ValueOf<S> = S extends { readonly kind: Kind<infer T> } ? T : never;

/** One entry of --help: `-p, --port <port>` and its text. */
export interface HelpRow {
  readonly flags: string;
  readonly help: string;
}

/** What a flag on the command line stands for. */
interface FlagTarget {
  readonly key: string;
  readonly spec: OptionSpec;
  readonly as: 'on' | 'off' | 'value' | 'qualifier';
}

const longFlags = (key: string, spec: OptionSpec): [string, FlagTarget][] => {
  const out: [string, FlagTarget][] = [];
  if (spec.flag === undefined) return out;
  if (spec.arg !== undefined) out.push([spec.flag, { key, spec, as: 'value' }]);
  else if (spec.help !== undefined) out.push([spec.flag, { key, spec, as: 'on' }]);
  if (spec.no !== undefined) out.push([`no-${spec.flag}`, { key, spec, as: 'off' }]);
  if (spec.qualifier) out.push([spec.qualifier.flag, { key, spec, as: 'qualifier' }]);
  return out;
};

/** How a flag is written in --help and in messages: `-p, --port <port>`, `--spa [file]`, `--no-cgi`. */
function flagsOf(name: string, target: FlagTarget): string {
  const { spec, as } = target;
  const short = as === 'value' || as === 'on' ? spec.short : undefined;
  const arg = as === 'qualifier' ? spec.qualifier!.arg : as === 'value' ? spec.arg : undefined;
  const value = arg === undefined ? '' : spec.optional && as === 'value' ? ` [${arg}]` : ` <${arg}>`;
  return `${short ? `-${short}, ` : ''}--${name}${value}`;
}

/** Every flag of the table, by long name; the shorts map to their long name. */
function flagIndex(table: OptionTable): { long: Map<string, FlagTarget>; short: Map<string, string> } {
  const long = new Map<string, FlagTarget>();
  const short = new Map<string, string>();
  for (const [key, spec] of Object.entries(table)) {
    for (const [name, target] of longFlags(key, spec)) {
      if (long.has(name)) throw new Error(`option table: --${name} is defined twice`);
      long.set(name, target);
    }
    if (spec.short !== undefined && spec.flag !== undefined) short.set(spec.short, spec.flag);
  }
  return { long, short };
}

/** The --help entries, in table order. */
export function helpRows(table: OptionTable): HelpRow[] {
  const rows: HelpRow[] = [];
  for (const [key, spec] of Object.entries(table)) {
    for (const [name, target] of longFlags(key, spec)) {
      const help = target.as === 'off' ? spec.no! : target.as === 'qualifier' ? spec.qualifier!.help : spec.help!;
      rows.push({ flags: flagsOf(name, target), help });
    }
  }
  return rows;
}

/** Edit distance, for "did you mean" on a mistyped option. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

function unknownOption(rawName: string, names: Iterable<string>): ConfigError {
  const name = rawName.replace(/^-+/, '');
  const best = [...names].map((n) => ({ n, d: distance(name, n) })).sort((x, y) => x.d - y.d)[0];
  const hint = rawName.startsWith('--') && best && best.d <= Math.max(1, Math.floor(name.length / 3)) ? ` (did you mean --${best.n}?)` : '';
  return new ConfigError(`unknown option '${rawName}'${hint}`);
}

/** One flag as given: which option it sets, and its value as written. */
interface Given {
  readonly name: string;
  readonly target: FlagTarget;
  readonly value: string | undefined;
}

/** The result of {@link parseCommandLine}: option name → value, only for options given. */
export interface CommandLine {
  readonly values: Record<string, unknown>;
  readonly positionals: string[];
}

/**
 * Read `argv` against `table`, or throw a one-line {@link ConfigError}. A
 * flag not given leaves its option undefined (so a config-file value stands);
 * a switch given twice, or `--x` and `--no-x`, is decided by the last one; a
 * repeatable flag keeps every value in order; a qualifier changes the latest
 * item of its option. Errors about the shape of the command line (unknown
 * flag, missing value) come first; then, if a switch named in `actions` is
 * given (`--help`), only those are returned, unconverted; then values are
 * checked and parsed, errors naming the flag as --help writes it.
 */
export function parseCommandLine(table: OptionTable, argv: readonly string[], actions: readonly string[] = []): CommandLine {
  const { long, short } = flagIndex(table);
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, { spec, as }] of long) {
    const takesValue = as === 'qualifier' || (as === 'value' && !spec.optional);
    config[name] = { type: takesValue ? 'string' : 'boolean' };
    if ((as === 'value' || as === 'on') && spec.short !== undefined) config[name]!.short = spec.short;
  }
  const { tokens } = parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
  const given: Given[] = [];
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    // Non-strict parseArgs names an unknown `-x` by its letter: it is unknown even if a long flag has that name.
    const isShort = !token.rawName.startsWith('--');
    const target = isShort && !short.has(token.rawName.slice(1)) ? undefined : long.get(token.name);
    if (!target) throw unknownOption(token.rawName, long.keys());
    given.push({ name: token.name, target, value: checkShape(token.name, target, token) });
  }
  const acted = given.filter((g) => actions.includes(g.target.key) && g.target.as === 'on');
  if (acted.length > 0) return { values: Object.fromEntries(acted.map((g) => [g.target.key, true])), positionals };
  return { values: valuesOf(given), positionals };
}

/** The value a flag token carries, after the checks the token alone allows. */
function checkShape(name: string, target: FlagTarget, token: { value?: string | undefined; inlineValue?: boolean | undefined }): string | undefined {
  const takesValue = target.as === 'qualifier' || target.as === 'value';
  const flags = flagsOf(name, target);
  if (!takesValue && token.value !== undefined) throw new ConfigError(`option '${flags}' does not take a value`);
  if (!takesValue || (target.spec.optional && target.as === 'value')) return token.value;
  if (token.value === undefined) throw new ConfigError(`option '${flags}' argument missing`);
  // `--port -1`: a value that looks like a flag is more likely a forgotten value (as strict parseArgs refused it).
  if (!token.inlineValue && token.value.startsWith('-')) {
    throw new ConfigError(`option '${flags}' needs its value attached to start with a dash: --${name}=VALUE`);
  }
  return token.value;
}

/** Each given option's value, converted, from its flags in order. */
function valuesOf(given: readonly Given[]): Record<string, unknown> {
  const state = new Map<string, { spec: OptionSpec; on?: boolean; items: unknown[] }>();
  for (const { name, target, value } of given) {
    const { key, spec, as } = target;
    const entry = state.get(key) ?? { spec, items: [] };
    state.set(key, entry);
    if (as === 'on' || as === 'off') {
      entry.on = as === 'on';
      entry.items = [];
    } else if (as === 'value') {
      // An optional value left out (`--spa`) is `true`.
      const item = value === undefined ? true : convertOne(key, spec, value);
      entry.items = spec.repeat ? [...entry.items, item] : [item];
      entry.on = undefined;
    } else if (entry.items.length === 0) {
      throw new ConfigError(`--${name} must follow the --${spec.flag} it applies to`);
    } else {
      entry.items[entry.items.length - 1] = spec.qualifier!.apply(entry.items[entry.items.length - 1] as never, value!);
    }
  }
  const values: Record<string, unknown> = {};
  for (const [key, { spec, on, items }] of state) {
    if (items.length === 0) values[key] = on;
    else values[key] = !spec.repeat ? items[0] : spec.collect ? spec.collect(items) : items;
  }
  return values;
}

function convertOne(key: string, spec: OptionSpec, raw: string): unknown {
  const flags = flagsOf(spec.flag!, { key, spec, as: 'value' });
  const choices = spec.kind.choices;
  if (choices && !choices.includes(raw)) throw new ConfigError(`option '${flags}' argument '${raw}' is invalid: choose ${choices.join(' or ')}`);
  try {
    return spec.parse ? spec.parse(raw) : raw;
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw new ConfigError(`option '${flags}' argument '${raw}' is invalid: ${err.message}`);
    throw err;
  }
}

/**
 * Check options given as values (a library caller's object, a config file's
 * JSON): every key must be an option of `table` allowed there, and every
 * value must pass its kind, so that a file's `"followSymlinks": "false"` is
 * an error, not a truthy string. `what` starts the message (`option`,
 * `config file x.json: key`); `unknown` words an unknown key's message.
 */
export function checkOptionValues(
  table: OptionTable,
  values: Record<string, unknown>,
  where: 'caller' | 'file',
  what: string,
  unknown: (key: string) => string,
): void {
  for (const [key, value] of Object.entries(values)) {
    const spec = Object.hasOwn(table, key) ? table[key] : undefined;
    if (!spec || spec.scope === 'cli' || (where === 'file' && spec.scope === 'caller')) throw new ConfigError(unknown(key));
    if (value !== undefined && !spec.kind.test(value)) {
      throw new ConfigError(`${what} "${key}" must be ${spec.kind.expected}, not ${JSON.stringify(value)}`);
    }
  }
}
