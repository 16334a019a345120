import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * A module loaded on its first use, not at start-up: start-up time and the
 * idle heap pay only for what a configuration uses. Loading every optional
 * module eagerly (TLS, HTTP/2, tar, busboy, globs, path patterns) doubled
 * the time to import the server (104 → 198 ms) and added 2 MiB of heap that
 * every full garbage collection then marks (bench/NOTES.md, 2026-12-03).
 */
export function lazy<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
