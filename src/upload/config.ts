import { ConfigError } from '../option-spec.js';
import type { ServeOptions } from '../options.js';

/** What an upload does to a name that already exists. */
export type ConflictPolicy = 'error' | 'rename' | 'overwrite';

/** The upload settings, validated once at start-up; `Config.upload` is null when uploads are off. */
export interface UploadConfig {
  /** Folders (URL path segments) that accept uploads, with their subfolders; null: every folder under the root. */
  readonly dirs: readonly (readonly string[])[] | null;
  readonly onConflict: ConflictPolicy;
  /** Missing folders may be created (folder uploads, PUT to a new path). */
  readonly mkdir: boolean;
  /** Largest request body, in bytes. */
  readonly maxBytes: number;
  /** Most files in one request. */
  readonly maxFiles: number;
  /** Upload requests served at once. */
  readonly maxConcurrent: number;
  /** Mode of a stored file: 0666 & ~umask, read once at start-up, as `open(2)` would give a new file. */
  readonly fileMode: number;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 1024 ** 3;
export const DEFAULT_MAX_UPLOAD_FILES = 1000;
export const DEFAULT_MAX_UPLOADS = 16;

/** The upload settings of merged options, or null when uploads are off (neither `upload` nor `uploadDirs`). */
export function resolveUploadConfig(options: ServeOptions): UploadConfig | null {
  const dirs = options.uploadDirs;
  if (!options.upload && (dirs === undefined || dirs.length === 0)) return null;
  return {
    dirs: dirs === undefined || dirs.length === 0 ? null : dirs.map(parseUploadDir),
    onConflict: options.onConflict ?? 'error',
    mkdir: options.uploadMkdir ?? false,
    maxBytes: count(options.maxUpload ?? DEFAULT_MAX_UPLOAD_BYTES, 'max upload', 0),
    maxFiles: count(options.maxUploadFiles ?? DEFAULT_MAX_UPLOAD_FILES, 'max upload files', 1),
    maxConcurrent: count(options.maxUploads ?? DEFAULT_MAX_UPLOADS, 'max uploads', 1),
    fileMode: 0o666 & ~currentUmask(),
  };
}

/**
 * The process umask. Reading it means setting it and back (the only way
 * POSIX offers), so it is read once, at start-up, before any request runs.
 */
function currentUmask(): number {
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
}

/** `/incoming/` → `['incoming']`; `/` is every folder. */
function parseUploadDir(dir: string): string[] {
  const segments = typeof dir === 'string' ? dir.split('/').filter((s) => s !== '') : [];
  if (typeof dir !== 'string' || !dir.startsWith('/') || segments.some((s) => s === '.' || s === '..' || s.includes('\\') || s.includes('\0'))) {
    throw new ConfigError(`upload directory must be a URL path such as /incoming/, not ${JSON.stringify(dir)}`);
  }
  return segments;
}

function count(value: number, what: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new ConfigError(`${what} must be an integer of at least ${min}, not ${JSON.stringify(value)}`);
  return value;
}
