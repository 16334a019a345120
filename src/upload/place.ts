import { lstat, mkdir, realpath, rmdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { CONFIG_FILE_NAME, type Config } from '../config.js';
import { HttpError } from '../errors.js';
import { isInside, isServerCode } from '../server-code.js';
import type { UploadConfig } from './config.js';
import { checkUploadName } from './names.js';

/** Does this folder (URL path segments) accept uploads: every folder, or one under an `--upload-dir`? */
export function acceptsUploads(up: UploadConfig, segments: readonly string[]): boolean {
  return up.dirs === null || up.dirs.some((dir) => startsWith(segments, dir));
}

/**
 * The methods uploads add to a path's Allow set (a CORS preflight's
 * Allow-Methods): POST for a folder that takes uploads, PUT for a name in
 * one; none when uploads are off there.
 */
export function uploadMethods(up: UploadConfig | null, segments: readonly string[]): string[] {
  if (up === null) return [];
  const methods: string[] = [];
  if (acceptsUploads(up, segments)) methods.push('POST');
  if (segments.length > 0 && acceptsUploads(up, segments.slice(0, -1))) methods.push('PUT');
  return methods;
}

function startsWith(segments: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= segments.length && prefix.every((s, i) => segments[i] === s);
}

/** The folders an upload created, removed again (when empty) if the upload fails. */
export class CreatedFolders {
  private readonly paths: string[] = [];

  add(path: string): void {
    this.paths.push(path);
  }

  /** Remove the created folders, deepest first; a folder something else has filled since stays. */
  async undo(): Promise<void> {
    for (const path of this.paths.reverse()) await rmdir(path).catch(() => {});
    this.paths.length = 0;
  }
}

/**
 * The real path of the folder named by `segments` under the root, walked
 * segment by segment: each one a valid name, each step's `realpath` inside
 * the root (a symlinked folder pointing outside is refused, whatever
 * --follow-symlinks says: it is about reading, never writing), and inside
 * the `--upload-dir` it was allowed by. A missing folder is 409, or created
 * when `created` is given (--upload-mkdir), after checking that it would
 * not be server code (a folder in a script directory).
 */
export async function openFolder(config: Config, segments: readonly string[], created: CreatedFolders | null): Promise<string> {
  let real = config.root;
  for (const raw of segments) {
    const name = checkUploadName(raw, config.dotfiles);
    let next = real + sep + raw;
    let stats = await statOrNull(next);
    if (stats === null && name !== raw) stats = await statOrNull((next = real + sep + name));
    if (stats === null) {
      if (created === null) throw new HttpError(409, { publicMessage: 'The target folder does not exist (see --upload-mkdir).' });
      next = real + sep + name;
      if (isServerCode(config, next)) throw serverCode(next);
      try {
        await mkdir(next, { mode: 0o777 });
        created.add(next);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    } else if (!stats.isDirectory()) {
      throw new HttpError(409, { publicMessage: 'A file has the name of a folder of the upload path.' });
    }
    real = await realpath(next);
    if (!isInside(real, config.root)) throw new HttpError(403, { publicMessage: 'Uploads never leave the served folder.', logMessage: `upload folder is a symlink out of the root: ${next}` });
  }
  await checkUploadDir(config, segments, real);
  return real;
}

/** With --upload-dir, the folder's real path must be inside the real path of an upload folder that allowed it (no symlink out of it). */
async function checkUploadDir(config: Config, segments: readonly string[], real: string): Promise<void> {
  const dirs = config.upload!.dirs;
  if (dirs === null) return;
  for (const dir of dirs) {
    if (!startsWith(segments, dir)) continue;
    const dirReal = await realpath(join(config.root, ...dir)).catch(() => null);
    if (dirReal !== null && isInside(real, dirReal)) return;
  }
  throw new HttpError(403, { publicMessage: 'This folder does not accept uploads.', logMessage: `upload folder leaves its --upload-dir: ${real}` });
}

/**
 * Refuse, with 403, a file the server runs or reads as configuration: a
 * script directory's file, an interpreter-mapped or --cgi-ext extension, the
 * config file (also `scriptserve.json` in the root when none exists yet, which
 * the next start would read), a route's command. An existing name is also
 * checked through its symlink.
 */
export async function refuseServerCode(config: Config, path: string): Promise<void> {
  if (isServerCode(config, path) || path === config.root + sep + CONFIG_FILE_NAME) throw serverCode(path);
  const real = await realpath(path).catch(() => null);
  if (real !== null && real !== path && (isServerCode(config, real) || !isInside(real, config.root))) throw serverCode(path);
}

/** Is this path taken by a folder (an upload may never replace one)? */
export async function isFolder(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null))?.isDirectory() ?? false;
}

function serverCode(path: string): HttpError {
  return new HttpError(403, {
    publicMessage: 'Uploads may not create or replace files the server runs or reads (scripts, mapped extensions, configuration).',
    logMessage: `upload of server code refused: ${path}`,
  });
}

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** The answer for a file-system failure while storing: full disk 507, no permission 403, a vanished folder 409; others unchanged (500). */
export function storageFailure(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new HttpError(507, { publicMessage: 'There is no space left to store the upload.', logMessage: `upload: ${(err as Error).message}` });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new HttpError(403, { publicMessage: 'The server may not write into this folder.', logMessage: `upload: ${(err as Error).message}` });
    case 'ENOENT':
    case 'ENOTDIR':
      return new HttpError(409, { publicMessage: 'The target folder changed during the upload.', logMessage: `upload: ${(err as Error).message}` });
    case 'ENAMETOOLONG':
      return new HttpError(400, { publicMessage: 'Bad upload name: the path is too long.' });
    default:
      return err;
  }
}
