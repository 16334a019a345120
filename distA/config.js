import { accessSync, constants, readFileSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { AccessConfigError, loadHtpasswd, normalizeOrigin, parseAuthSpec } from './access.js';
import { splitCommandLine } from './argv.js';
/** A configuration problem, reported at start-up as one line. */
export class ConfigError extends Error {
}
export const DEFAULT_PORT = 8000;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_CGI_DIRS = ['/cgi-bin/', '/htbin/'];
export const DEFAULT_SCRIPT_TIMEOUT_S = 60;
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;
export const DEFAULT_HEADER_TIMEOUT_S = 20;
export const DEFAULT_REQUEST_TIMEOUT_S = 60;
export const DEFAULT_ROUTE_CONTENT_TYPE = 'text/plain; charset=utf-8';
export const CONFIG_FILE_NAME = 'scriptserve.json';
/**
 * Modules the warm fork server imports by default: common in CGI scripts,
 * present in Python 3.11 to 3.13 (no `cgi`, removed in 3.13), and free of
 * side effects at import (no threads, no open files). Not `random` (nor
 * `email.utils`, which imports it): once loaded, it reseeds itself after
 * every fork, which cost every request about 36 copy-on-write faults
 * (0.1 ms) whether the script used random or not (bench/NOTES.md).
 */
export const DEFAULT_WARM_PRELOAD = [
    'os', 'sys', 'io', 're', 'json', 'time', 'datetime', 'urllib.parse', 'html', 'base64', 'hashlib',
    'collections', 'functools', 'string', 'http.cookies',
];
/** Default for `maxScripts`: four per core. */
export function defaultMaxScripts() {
    return 4 * availableParallelism();
}
/** Default for `maxQueue`: enough for bursts of ordinary clients, bounded against floods. */
export function defaultMaxQueue(maxScripts) {
    return Math.max(64, 16 * maxScripts);
}
/**
 * Validate options and resolve everything that does not depend on a request:
 * the root's real path, interpreter and route commands as absolute paths.
 * Throws {@link ConfigError} with a one-line message.
 */
export function resolveConfig(options = {}) {
    checkOptionTypes(options, 'option');
    const root = resolveRoot(options.root ?? process.cwd());
    const fileOptions = loadConfigFile(options.configFile, root);
    const merged = { ...fileOptions, ...stripUndefined(options) };
    if (fileOptions.routes && options.routes)
        merged.routes = [...options.routes, ...fileOptions.routes];
    const scriptTimeoutMs = seconds(merged.scriptTimeout ?? DEFAULT_SCRIPT_TIMEOUT_S, 'script timeout');
    const maxScripts = positiveInt(merged.maxScripts ?? defaultMaxScripts(), 'max scripts');
    const routes = (merged.routes ?? []).map((r) => resolveRoute(r, root, scriptTimeoutMs));
    const interpreters = resolveInterpreters(merged.interpreters ?? defaultInterpreters());
    const hidden = new Set();
    if (fileOptions.__file)
        hidden.add(fileOptions.__file);
    for (const route of routes)
        for (const arg of route.argv)
            addIfInside(hidden, arg, root);
    if (options.logFormat !== undefined && options.logFormat !== 'text' && options.logFormat !== 'json') {
        throw new ConfigError(`logFormat must be "text" or "json", not ${JSON.stringify(options.logFormat)}`);
    }
    if (merged.dotfiles !== undefined && merged.dotfiles !== 'ignore' && merged.dotfiles !== 'allow') {
        throw new ConfigError(`dotfiles must be "ignore" or "allow", not ${JSON.stringify(merged.dotfiles)}`);
    }
    return {
        root,
        cacheControl: merged.cache === undefined ? 'no-cache' : `max-age=${nonNegativeInt(merged.cache, 'cache')}`,
        dotfiles: merged.dotfiles ?? 'ignore',
        followSymlinks: merged.followSymlinks ?? false,
        listing: merged.listing ?? true,
        log: options.log,
        logFormat: options.logFormat ?? 'text',
        cgiEnabled: merged.cgi ?? true,
        cgiDirs: (merged.cgiDirs ?? DEFAULT_CGI_DIRS).map(parseCgiDir),
        interpreters,
        passEnv: merged.passEnv ?? [],
        passAuthorization: merged.passAuthorization ?? false,
        scriptTimeoutMs,
        maxScripts,
        maxQueue: merged.maxQueue === undefined ? defaultMaxQueue(maxScripts) : nonNegativeInt(merged.maxQueue, 'max queue'),
        maxBodyBytes: nonNegativeInt(merged.maxBody ?? DEFAULT_MAX_BODY_BYTES, 'max body'),
        routes,
        hiddenFiles: hidden,
        headerTimeoutMs: seconds(merged.headerTimeout ?? DEFAULT_HEADER_TIMEOUT_S, 'header timeout'),
        requestTimeoutMs: seconds(merged.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_S, 'request timeout'),
        access: resolveAccess(options, merged),
        fileCache: merged.fileCache ?? true,
        warmPython: merged.warmPython ?? false,
        warmPreload: resolveWarmPreload(merged.warmPreload ?? DEFAULT_WARM_PRELOAD),
        warmInterpreter: merged.warmPython ? resolveWarmInterpreter(merged.warmInterpreter, interpreters) : null,
    };
}
/** Does an interpreter's flag list contain `-c`, `-m` or `-` (which would replace the fork server)? */
function runsOtherCode(flags) {
    for (let i = 0; i < flags.length; i++) {
        const arg = flags[i];
        if (arg === '-' || !arg.startsWith('-') || arg.startsWith('--'))
            continue;
        for (let j = 1; j < arg.length; j++) {
            if (arg[j] === 'c' || arg[j] === 'm')
                return true;
            if (arg[j] === 'W' || arg[j] === 'X') {
                if (j === arg.length - 1)
                    i++; // the value is the next argument
                break;
            }
        }
    }
    return flags.includes('-');
}
/** Module names only (`urllib.parse`): the list is passed to the fork server, which imports each. */
function resolveWarmPreload(names) {
    for (const name of names) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) {
            throw new ConfigError(`warm preload entries must be module names such as urllib.parse, not ${JSON.stringify(name)}`);
        }
    }
    return names;
}
/**
 * The warm fork server's interpreter, as a cold run would start it: the
 * given command, else the `.py` mapping, else python3 from PATH. `-c` and `-m`
 * would run something other than the fork server, so they are refused.
 */
function resolveWarmInterpreter(command, interpreters) {
    let argv;
    if (command !== undefined) {
        argv = parseCommand(command, 'warm interpreter');
        argv[0] = findExecutable(argv[0], process.cwd(), 'warm interpreter');
    }
    else if (interpreters.has('.py')) {
        argv = [...interpreters.get('.py')];
    }
    else {
        try {
            argv = [findExecutable('python3', process.cwd(), 'warm python')];
        }
        catch {
            throw new ConfigError('warm python: python3 not found in PATH; name the interpreter with --warm-interpreter');
        }
    }
    if (runsOtherCode(argv.slice(1))) {
        throw new ConfigError(`warm interpreter must be an interpreter with flags, without -c, -m or -: ${JSON.stringify(argv.join(' '))}`);
    }
    return argv;
}
/** Access options. Credentials come only from the caller (flags), never from a file inside the served root. */
function resolveAccess(options, merged) {
    try {
        let users = null;
        if (options.authFile)
            users = loadHtpasswd(resolve(options.authFile));
        for (const spec of options.auth ?? []) {
            const [user, check] = parseAuthSpec(spec);
            (users ??= new Map()).set(user, check);
        }
        const hosts = merged.allowedHosts;
        if (hosts !== undefined && hosts !== 'any' && !Array.isArray(hosts))
            throw new AccessConfigError('allowedHosts must be a list of host names or "any"');
        return {
            users,
            allowedHosts: hosts === undefined ? 'loopback' : hosts === 'any' || hosts.includes('any') ? 'any' : new Set(hosts.map((h) => h.toLowerCase())),
            allowedOrigins: new Set((merged.allowOrigins ?? []).map(normalizeOrigin)),
            cors: merged.cors ?? false,
        };
    }
    catch (err) {
        if (err instanceof AccessConfigError)
            throw new ConfigError(err.message);
        throw err;
    }
}
/** The type of every option, checked once so that a config file's `"followSymlinks": "false"` is an error, not a truthy string. */
const OPTION_KINDS = {
    root: 'string', cache: 'number', dotfiles: 'string', followSymlinks: 'boolean', listing: 'boolean', log: 'function',
    logFormat: 'string', cgi: 'boolean', cgiDirs: 'strings', interpreters: 'record', passEnv: 'strings',
    passAuthorization: 'boolean', scriptTimeout: 'number', maxScripts: 'number', maxQueue: 'number', maxBody: 'number', routes: 'array',
    configFile: 'string', headerTimeout: 'number', requestTimeout: 'number', auth: 'strings', authFile: 'string',
    allowedHosts: 'hosts', allowOrigins: 'strings', cors: 'boolean', fileCache: 'boolean',
    warmPython: 'boolean', warmPreload: 'strings', warmInterpreter: 'string',
};
/**
 * What a config file may set: every option except those only the caller
 * gives (the root and the file itself, logging, and credentials, which have
 * their own --auth-file).
 */
const KNOWN_CONFIG_KEYS = new Set(Object.keys(OPTION_KINDS).filter((k) => !['root', 'configFile', 'log', 'logFormat', 'auth', 'authFile'].includes(k)));
function hasKind(value, kind) {
    const strings = (v) => Array.isArray(v) && v.every((x) => typeof x === 'string');
    switch (kind) {
        case 'strings':
            return strings(value);
        case 'record':
            return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((x) => typeof x === 'string');
        case 'array':
            return Array.isArray(value);
        case 'hosts':
            return value === 'any' || strings(value);
        default:
            return typeof value === kind;
    }
}
function checkOptionTypes(options, what) {
    for (const [key, value] of Object.entries(options)) {
        const kind = OPTION_KINDS[key];
        if (value === undefined || kind === undefined)
            continue;
        if (!hasKind(value, kind)) {
            const expected = { strings: 'a list of strings', record: 'an object of strings', array: 'a list', hosts: 'a list of host names or "any"' }[kind] ?? `a ${kind}`;
            throw new ConfigError(`${what} "${key}" must be ${expected}, not ${JSON.stringify(value)}`);
        }
    }
}
function stripUndefined(o) {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
function resolveRoot(dir) {
    const abs = resolve(dir);
    let real;
    try {
        real = realpathSync(abs);
    }
    catch {
        throw new ConfigError(`root directory does not exist: ${abs}`);
    }
    if (!statSync(real).isDirectory())
        throw new ConfigError(`root is not a directory: ${abs}`);
    try {
        accessSync(real, constants.R_OK | constants.X_OK);
    }
    catch {
        throw new ConfigError(`root directory is not readable: ${abs}`);
    }
    return real;
}
function loadConfigFile(explicit, root) {
    const path = explicit ? resolve(explicit) : join(root, CONFIG_FILE_NAME);
    let text;
    try {
        text = readFileSync(path, 'utf8');
    }
    catch (err) {
        if (!explicit && err.code === 'ENOENT')
            return {};
        throw new ConfigError(`cannot read config file ${path}: ${err.message}`);
    }
    let data;
    try {
        data = JSON.parse(text);
    }
    catch (err) {
        throw new ConfigError(`config file ${path} is not valid JSON: ${err.message}`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        throw new ConfigError(`config file ${path} must hold a JSON object`);
    }
    for (const key of Object.keys(data)) {
        if (!KNOWN_CONFIG_KEYS.has(key))
            throw new ConfigError(`config file ${path}: unknown key "${key}"`);
    }
    checkOptionTypes(data, `config file ${path}: key`);
    return { ...data, __file: realpathSync(path) };
}
function addIfInside(set, arg, root) {
    if (!isAbsolute(arg) || !arg.startsWith(root + '/'))
        return;
    try {
        set.add(realpathSync(arg));
    }
    catch {
        /* not a file: nothing to hide */
    }
}
/** `/cgi-bin/` → `['cgi-bin']`; rejects anything that is not a plain absolute URL path. */
function parseCgiDir(dir) {
    const segments = dir.split('/').filter((s) => s !== '');
    if (!dir.startsWith('/') || segments.length === 0 || segments.some((s) => s === '.' || s === '..')) {
        throw new ConfigError(`script directory must be a URL path such as /cgi-bin/, not ${JSON.stringify(dir)}`);
    }
    return segments;
}
/** On Windows, which has no execute bit, the usual interpreters run scripts by extension. */
function defaultInterpreters() {
    if (process.platform !== 'win32')
        return {};
    return { '.py': 'python', '.js': 'node', '.mjs': 'node', '.cjs': 'node', '.pl': 'perl', '.rb': 'ruby', '.php': 'php-cgi' };
}
function resolveInterpreters(map) {
    const out = new Map();
    for (const [ext, command] of Object.entries(map)) {
        if (!/^\.[A-Za-z0-9_.-]+$/.test(ext))
            throw new ConfigError(`interpreter extension must look like .py, not ${JSON.stringify(ext)}`);
        const argv = parseCommand(command, `interpreter for ${ext}`);
        argv[0] = findExecutable(argv[0], process.cwd(), `interpreter for ${ext}`);
        out.set(ext.toLowerCase(), argv);
    }
    return out;
}
/** Parse `--interpreter .ext=COMMAND`. */
export function parseInterpreterSpec(spec) {
    const eq = spec.indexOf('=');
    if (eq <= 0 || eq === spec.length - 1)
        throw new ConfigError(`--interpreter takes .EXT=COMMAND, not ${JSON.stringify(spec)}`);
    return [spec.slice(0, eq), spec.slice(eq + 1)];
}
/** Parse `--route 'METHOD /path=COMMAND'`. */
export function parseRouteSpec(spec) {
    const eq = spec.indexOf('=');
    const head = eq > 0 ? spec.slice(0, eq).trim().split(/\s+/) : [];
    if (head.length !== 2 || eq === spec.length - 1) {
        throw new ConfigError(`--route takes 'METHOD /path=COMMAND', not ${JSON.stringify(spec)}`);
    }
    return { method: head[0], path: head[1], command: spec.slice(eq + 1) };
}
function parseCommand(command, what) {
    let argv;
    try {
        argv = Array.isArray(command) ? [...command] : splitCommandLine(command);
    }
    catch (err) {
        throw new ConfigError(`${what}: ${err.message}`);
    }
    if (argv.length === 0 || argv.some((a) => typeof a !== 'string'))
        throw new ConfigError(`${what}: empty command`);
    return argv;
}
function resolveRoute(r, root, defaultTimeoutMs) {
    if (typeof r !== 'object' || r === null)
        throw new ConfigError('a route must be an object');
    const method = String(r.method ?? '').toUpperCase();
    if (!/^[A-Z]+$/.test(method))
        throw new ConfigError(`route method must be a word such as POST or ANY, not ${JSON.stringify(r.method)}`);
    if (typeof r.path !== 'string' || !r.path.startsWith('/'))
        throw new ConfigError(`route path must start with /, not ${JSON.stringify(r.path)}`);
    const prefix = r.path.endsWith('/*');
    const path = prefix ? r.path.slice(0, -1) : r.path;
    if (r.contentType !== undefined && typeof r.contentType !== 'string')
        throw new ConfigError(`route contentType must be a string`);
    if (r.timeout !== undefined && typeof r.timeout !== 'number')
        throw new ConfigError(`route timeout must be a number of seconds`);
    const mode = r.mode ?? 'stdout';
    if (mode !== 'stdout' && mode !== 'cgi')
        throw new ConfigError(`route mode must be "stdout" or "cgi", not ${JSON.stringify(mode)}`);
    const what = `route ${method} ${r.path}`;
    const argv = parseCommand(r.command, what);
    argv[0] = findExecutable(argv[0], root, what);
    for (let i = 1; i < argv.length; i++) {
        // Relative file arguments are resolved against the root (the command's working directory).
        const candidate = join(root, argv[i]);
        if (!argv[i].startsWith('-') && !isAbsolute(argv[i]) && existsFile(candidate))
            argv[i] = candidate;
    }
    return {
        method,
        path,
        prefix,
        argv,
        mode,
        contentType: r.contentType ?? DEFAULT_ROUTE_CONTENT_TYPE,
        timeoutMs: r.timeout === undefined ? defaultTimeoutMs : seconds(r.timeout, `${what} timeout`),
    };
}
function existsFile(path) {
    try {
        return statSync(path).isFile();
    }
    catch {
        return false;
    }
}
/**
 * Resolve a command name to an absolute path once, at start-up: a name with a
 * slash is taken relative to `base`, a bare name is searched in PATH.
 */
export function findExecutable(name, base, what) {
    const candidates = name.includes('/')
        ? [resolve(base, name)]
        : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name));
    for (const candidate of candidates) {
        try {
            if (statSync(candidate).isFile()) {
                accessSync(candidate, constants.X_OK);
                return candidate;
            }
        }
        catch {
            /* try the next one */
        }
    }
    throw new ConfigError(`${what}: command not found or not executable: ${name}`);
}
function seconds(value, what) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw new ConfigError(`${what} must be a positive number of seconds, not ${JSON.stringify(value)}`);
    }
    return Math.ceil(value * 1000);
}
function positiveInt(value, what) {
    if (!Number.isSafeInteger(value) || value <= 0)
        throw new ConfigError(`${what} must be a positive integer, not ${JSON.stringify(value)}`);
    return value;
}
function nonNegativeInt(value, what) {
    if (!Number.isSafeInteger(value) || value < 0)
        throw new ConfigError(`${what} must be a non-negative integer, not ${JSON.stringify(value)}`);
    return value;
}
