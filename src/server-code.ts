import { extname, sep } from 'node:path';
import type { Config } from './config.js';

/**
 * Is this real path (inside the root, after `realpath`) something the server
 * runs or reads as configuration rather than serves? True for files in a
 * script directory, files whose extension is mapped with `--interpreter` or
 * run by `--cgi-ext` (Config.codeExtensions), the config file and the
 * commands of routes. The one place that decides it:
 * static serving, uploads and archives all ask here, so a file that can
 * become code is never served as a file, written by an upload or packed
 * into an archive.
 */
export function isServerCode(config: Config, realPath: string): boolean {
  if (config.hiddenFiles.has(realPath)) return true;
  if (config.codeExtensions.has(extname(realPath).toLowerCase())) return true;
  return inScriptDirectory(config, realPath);
}

/** Is this real path inside one of the script directories (when scripts are on)? */
export function inScriptDirectory(config: Config, realPath: string): boolean {
  if (!config.cgiEnabled) return false;
  return config.cgiDirs.some((dir) => isInside(realPath, config.root + sep + dir.join(sep)));
}

/**
 * The script directory a URL path (its decoded segments) leads into, spelled
 * in any case (on a case-insensitive disk `/CGI-BIN/x.py` is cgi-bin's file),
 * the shortest when several do; undefined when none does or scripts are off.
 * The URL side of {@link inScriptDirectory}: routing, caching, the not-found
 * page and archives ask here.
 */
export function scriptDirectoryOf(config: Pick<Config, 'cgiEnabled' | 'cgiDirs'>, segments: readonly string[]): readonly string[] | undefined {
  if (!config.cgiEnabled) return undefined;
  let found: readonly string[] | undefined;
  for (const dir of config.cgiDirs) {
    if (dir.length > segments.length || (found !== undefined && found.length <= dir.length)) continue;
    if (dir.every((d, i) => d.toLowerCase() === segments[i]!.toLowerCase())) found = dir;
  }
  return found;
}

/** Is `real` the directory `dir` or inside it? Both are real, absolute paths. */
export function isInside(real: string, dir: string): boolean {
  return real === dir || real.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}
