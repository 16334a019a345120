import type { IncomingHttpHeaders } from 'node:http';

// The data side of a webhook route: where a value comes from (a JSON Pointer
// into the payload, a header, a query or form parameter), the `when` rules
// that decide whether the route triggers, and the `env`/`args` mapping that
// hands values to the command. All pure: compiled once from the config file
// (where every mistake is a one-line ConfigError), evaluated per request.

/** What a request offers to rules and mappings. */
export interface HookInput {
  /** The parsed JSON payload (or a form's decoded `payload` field); undefined when there is none. */
  readonly payload: unknown;
  readonly headers: IncomingHttpHeaders;
  readonly query: URLSearchParams;
  /** The urlencoded form body, when the body is one. */
  readonly form: URLSearchParams | undefined;
}

/** Where a value comes from: a JSON Pointer string, or an object naming another source. */
export type SourceSpec = string | { field: string } | { header: string } | { query: string } | { form: string };

/** A `when` rule as written in scriptserve.json. */
export type RuleSpec =
  | ({ field?: string; header?: string; query?: string; form?: string } & ({ equals: unknown } | { matches: string } | { in: unknown[] }))
  | { and: RuleSpec[] }
  | { or: RuleSpec[] }
  | { not: RuleSpec };

/** A compiled source: reads its value from a request, undefined when absent. */
export type Source = (input: HookInput) => string | undefined;
/** A compiled rule. */
export type Rule = (input: HookInput) => boolean;

/** A mistake in a rule or mapping, with where it is; config.ts turns it into a ConfigError. */
export class RuleError extends Error {}

const SOURCE_KEYS = ['field', 'header', 'query', 'form'] as const;

/** Compile a source: a string is a JSON Pointer into the payload. */
export function compileSource(spec: unknown, where: string): Source {
  if (typeof spec === 'string') return fieldSource(spec, where);
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new RuleError(`${where}: a value source is a JSON Pointer string or {"field"|"header"|"query"|"form": name}`);
  }
  const keys = SOURCE_KEYS.filter((k) => k in spec);
  if (keys.length !== 1) throw new RuleError(`${where}: name exactly one of field, header, query or form`);
  return sourceFrom(keys[0]!, (spec as Record<string, unknown>)[keys[0]!], where);
}

function sourceFrom(key: (typeof SOURCE_KEYS)[number], name: unknown, where: string): Source {
  if (typeof name !== 'string' || (key !== 'field' && name === '')) throw new RuleError(`${where}: "${key}" must be a non-empty string`);
  switch (key) {
    case 'field':
      return fieldSource(name, where);
    case 'header': {
      const lower = name.toLowerCase();
      return (input) => headerValue(input.headers, lower);
    }
    case 'query':
      return (input) => input.query.get(name) ?? undefined;
    case 'form':
      return (input) => input.form?.get(name) ?? undefined;
  }
}

function fieldSource(pointer: string, where: string): Source {
  const tokens = parsePointer(pointer, where);
  return (input) => {
    const value = resolvePointer(input.payload, tokens);
    return value === undefined ? undefined : stringValue(value);
  };
}

/** RFC 6901: `""` is the whole document, else `/`-separated tokens with `~1` → `/` and `~0` → `~`. */
export function parsePointer(pointer: string, where = 'JSON Pointer'): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new RuleError(`${where}: a JSON Pointer starts with "/", not ${JSON.stringify(pointer)}`);
  if (/~[^01]|~$/.test(pointer)) throw new RuleError(`${where}: bad escape in JSON Pointer ${JSON.stringify(pointer)}`);
  return pointer.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** The value a pointer names, or undefined when any step is absent. Arrays take decimal indices without leading zeros. */
export function resolvePointer(doc: unknown, tokens: readonly string[]): unknown {
  let node = doc;
  for (const token of tokens) {
    if (Array.isArray(node)) {
      if (!/^(0|[1-9]\d*)$/.test(token)) return undefined;
      node = node[Number(token)];
    } else if (typeof node === 'object' && node !== null && Object.hasOwn(node, token)) {
      node = (node as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
    if (node === undefined) return undefined;
  }
  return node;
}

/** A JSON value as the text a command receives: strings as they are, anything else as JSON. */
export function stringValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function headerValue(headers: IncomingHttpHeaders, lower: string): string | undefined {
  const v = headers[lower];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Compile a `when` rule. */
export function compileRule(spec: unknown, where: string): Rule {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new RuleError(`${where}: a rule is an object`);
  const o = spec as Record<string, unknown>;
  if ('and' in o || 'or' in o) {
    const key = 'and' in o ? 'and' : 'or';
    const list = o[key];
    if (!Array.isArray(list) || list.length === 0 || Object.keys(o).length !== 1) throw new RuleError(`${where}: "${key}" takes a non-empty list of rules, alone`);
    const rules = list.map((r, i) => compileRule(r, `${where}.${key}[${i}]`));
    return key === 'and' ? (input) => rules.every((r) => r(input)) : (input) => rules.some((r) => r(input));
  }
  if ('not' in o) {
    if (Object.keys(o).length !== 1) throw new RuleError(`${where}: "not" stands alone`);
    const inner = compileRule(o.not, `${where}.not`);
    return (input) => !inner(input);
  }
  const sources = SOURCE_KEYS.filter((k) => k in o);
  if (sources.length !== 1) throw new RuleError(`${where}: a rule names exactly one of field, header, query or form`);
  const source = sourceFrom(sources[0]!, o[sources[0]!], where);
  const tests = (['equals', 'matches', 'in'] as const).filter((k) => k in o);
  if (tests.length !== 1) throw new RuleError(`${where}: a rule has exactly one of equals, matches or in`);
  const extra = Object.keys(o).filter((k) => k !== sources[0] && k !== tests[0]);
  if (extra.length > 0) throw new RuleError(`${where}: unknown key ${JSON.stringify(extra[0])}`);
  const test = compileTest(tests[0]!, o[tests[0]!], where);
  // An absent value makes its comparison false (also under "not": not(absent == x) is true).
  return (input) => {
    const value = source(input);
    return value !== undefined && test(value);
  };
}

function compileTest(kind: 'equals' | 'matches' | 'in', arg: unknown, where: string): (value: string) => boolean {
  switch (kind) {
    case 'equals': {
      const want = comparable(arg, where);
      return (value) => value === want;
    }
    case 'in': {
      if (!Array.isArray(arg) || arg.length === 0) throw new RuleError(`${where}: "in" takes a non-empty list`);
      const set = new Set(arg.map((a) => comparable(a, where)));
      return (value) => set.has(value);
    }
    case 'matches': {
      if (typeof arg !== 'string') throw new RuleError(`${where}: "matches" takes a regular expression as a string`);
      let re: RegExp;
      try {
        re = new RegExp(arg, 'u');
      } catch (err) {
        throw new RuleError(`${where}: bad regular expression: ${(err as Error).message}`);
      }
      return (value) => re.test(value);
    }
  }
}

/** A value to compare with, as text: `"main"` matches the string main, `42` or `true` match the JSON number or boolean. */
function comparable(arg: unknown, where: string): string {
  if (arg === undefined || (typeof arg === 'object' && arg !== null)) throw new RuleError(`${where}: compare with a string, number, boolean or null`);
  return stringValue(arg);
}
