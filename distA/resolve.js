import { realpath, stat } from 'node:fs/promises';
import { basename, extname, sep } from 'node:path';
import { HttpError, permissionDenied } from './errors.js';
import { encodePath } from './request-path.js';
const NOT_FOUND = () => new HttpError(404);
const INDEX_FILE = 'index.html';
/**
 * Map a parsed request to a target. Order: command routes, canonical-path
 * redirect, script directories, then files. Everything here fails with one
 * HttpError; nothing touches the response.
 */
export async function resolveTarget(config, path, method) {
    const route = matchRoute(config.routes, path, method);
    if (route)
        return { kind: 'script', script: routeTarget(config, route, path) };
    if (!path.canonical) {
        return { kind: 'redirect', location: encodePath(path.segments, path.trailingSlash) + queryPart(path) };
    }
    if (config.dotfiles === 'ignore' && path.segments.some((s) => s.charCodeAt(0) === 46 /* . */))
        throw NOT_FOUND();
    if (config.cgiEnabled) {
        const dir = config.cgiDirs.find((d) => startsWith(path.segments, d));
        if (dir)
            return { kind: 'script', script: await resolveScript(config, dir, path) };
    }
    return resolveStatic(config, path, method);
}
function queryPart(path) {
    return path.query === '' ? '' : '?' + path.query;
}
function startsWith(segments, prefix, fold = false) {
    if (segments.length < prefix.length)
        return false;
    for (let i = 0; i < prefix.length; i++) {
        const a = segments[i];
        const b = prefix[i];
        if (fold ? a.toLowerCase() !== b.toLowerCase() : a !== b)
            return false;
    }
    return true;
}
/** The command route for a request, if one matches its method and path. */
export function matchRoute(routes, path, method) {
    if (routes.length === 0)
        return undefined;
    const p = path.decoded;
    return routes.find((r) => (r.method === 'ANY' || r.method === method) && (r.prefix ? p.startsWith(r.path) : p === r.path));
}
function routeTarget(config, route, path) {
    const base = route.prefix ? route.path.slice(0, -1) : route.path;
    return {
        argv: route.argv,
        scriptFilename: route.argv[route.argv.length > 1 ? 1 : 0],
        scriptName: base,
        pathInfo: path.decoded.slice(base.length),
        cwd: config.root,
        nph: false,
        route,
    };
}
async function statOrNull(fsPath) {
    try {
        return await stat(fsPath);
    }
    catch (err) {
        const code = err.code;
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP')
            return null;
        throw permissionDenied(err, fsPath) ?? err;
    }
}
/** True when `real` is `dir` or inside it. */
function isInside(real, dir) {
    return real === dir || real.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}
/**
 * A file inside a script directory: walk down while the path names a
 * directory; the first regular file is the script and the rest is PATH_INFO
 * (CPython's run_cgi does the same walk). The script's real path must stay
 * inside the script directory's real path, so a symlink cannot make
 * `/cgi-bin/sh` run `/bin/sh`.
 */
async function resolveScript(config, dir, path) {
    const dirPath = config.root + sep + dir.join(sep);
    const dirStats = await statOrNull(dirPath);
    if (!dirStats?.isDirectory())
        throw NOT_FOUND();
    let fsPath = dirPath;
    for (let i = dir.length; i < path.segments.length; i++) {
        fsPath += sep + path.segments[i];
        const stats = await statOrNull(fsPath);
        if (!stats)
            throw NOT_FOUND();
        if (stats.isDirectory())
            continue;
        if (!stats.isFile())
            throw NOT_FOUND();
        const [realScript, realDir] = await Promise.all([realpath(fsPath), realpath(dirPath)]);
        if (!config.followSymlinks && !isInside(realScript, realDir)) {
            throw new HttpError(404, { logMessage: `script is a symlink out of its directory: ${fsPath}` });
        }
        const rest = path.segments.slice(i + 1);
        return {
            realPathIsPath: realScript === fsPath && realDir === dirPath,
            argv: scriptArgv(config, fsPath, stats),
            scriptFilename: fsPath,
            scriptName: '/' + path.segments.slice(0, i + 1).join('/'),
            pathInfo: rest.length === 0 ? (path.trailingSlash ? '/' : '') : '/' + rest.join('/') + (path.trailingSlash ? '/' : ''),
            cwd: fsPath.slice(0, fsPath.lastIndexOf(sep)),
            nph: basename(fsPath).startsWith('nph-'),
        };
    }
    throw new HttpError(403, { publicMessage: 'Directories in a script directory are neither listed nor run.' });
}
/**
 * How to run a script: through the interpreter mapped to its extension, or
 * directly when it has an execute bit (its shebang picks the interpreter).
 * A file that merely landed in cgi-bin without an execute bit is never run.
 */
function scriptArgv(config, fsPath, stats) {
    const interpreter = config.interpreters.get(extname(fsPath).toLowerCase());
    if (interpreter)
        return [...interpreter, fsPath];
    if ((stats.mode & 0o111) === 0) {
        throw new HttpError(403, {
            publicMessage: 'This script is not executable, so it is not run. Give it an execute bit or map its extension with --interpreter.',
            logMessage: `script not executable: ${fsPath}`,
        });
    }
    return [fsPath];
}
async function resolveStatic(config, path, method) {
    const fsPath = path.segments.length === 0 ? config.root : config.root + sep + path.segments.join(sep);
    const stats = await statOrNull(fsPath);
    if (!stats)
        throw NOT_FOUND();
    const realPath = await checkRealPath(config, fsPath, path);
    if (stats.isDirectory()) {
        // Only GET and HEAD are redirected to the slash form; other methods get their 405 from the directory.
        if (path.segments.length > 0 && !path.trailingSlash && (method === 'GET' || method === 'HEAD')) {
            return { kind: 'redirect', location: encodePath(path.segments, true) + queryPart(path) };
        }
        const indexPath = fsPath + sep + INDEX_FILE;
        const indexStats = await statOrNull(indexPath);
        if (indexStats?.isFile()) {
            const indexReal = await checkRealPath(config, indexPath, path);
            return { kind: 'file', fsPath: indexPath, realPath: indexReal, stats: indexStats };
        }
        if (!config.listing)
            throw new HttpError(403, { publicMessage: 'Directory listing is turned off.' });
        return { kind: 'directory', fsPath, realPath, urlPath: encodePath(path.segments, true), isRoot: path.segments.length === 0 };
    }
    // A file asked for as a directory (`/hello.txt/`) is not that file (CPython bpo-17324).
    if (!stats.isFile() || path.trailingSlash)
        throw NOT_FOUND();
    return { kind: 'file', fsPath, realPath, stats };
}
/**
 * The real path must stay inside the root (a symlink out is a 404 unless
 * followSymlinks), must not be a hidden file (config, route commands), and must
 * not be a script reached by another spelling of its directory
 * (`/CGI-BIN/x.py` on a case-insensitive disk, a symlink into cgi-bin).
 */
async function checkRealPath(config, fsPath, path) {
    const real = await realpath(fsPath);
    if (!config.followSymlinks && !isInside(real, config.root)) {
        throw new HttpError(404, { logMessage: `symlink out of the root refused: ${fsPath}` });
    }
    if (config.hiddenFiles.has(real))
        throw NOT_FOUND();
    if (config.cgiEnabled) {
        for (const dir of config.cgiDirs) {
            if (startsWith(path.segments, dir, true) || isInside(real, config.root + sep + dir.join(sep))) {
                throw new HttpError(404, { logMessage: `script source refused: ${fsPath}` });
            }
        }
    }
    return real;
}
/** Does this path lead into a script directory (whose answers are never cached)? */
export function isScriptPath(config, path) {
    return config.cgiEnabled && config.cgiDirs.some((d) => startsWith(path.segments, d, true));
}
