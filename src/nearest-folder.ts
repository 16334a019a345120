import { realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import type { Config } from './config.js';
import { encodePath, parseRequestTarget } from './request-path.js';
import { isInside, scriptDirectoryOf } from './server-code.js';

/** Most answers remembered; past this the memo starts over. */
const MAX_REMEMBERED = 1024;

/**
 * The nearest existing parent folder of a request path that failed, for the
 * error page's way back: the deepest ancestor that is a directory static
 * serving would serve (no dot segment unless dotfiles are allowed, not a
 * script directory, inside the root unless symlinks are followed), or `/`.
 *
 * Answers are remembered per folder while the file cache's generation (bumped
 * by every file-system event) stays the same, so the common 404 in a known
 * folder costs no file-system call; without the cache every answer is looked
 * up afresh.
 */
export class NearestFolder {
  private readonly memo = new Map<string, string>();
  private memoGeneration: number | null = null;

  constructor(
    private readonly config: Config,
    /** The file cache's generation, or null when there is no cache (nothing can be remembered). */
    private readonly generation: () => number | null,
  ) {}

  /** The href (canonical, percent-encoded, ending in `/`) of the nearest servable parent of `url`. */
  find(url: string): string | Promise<string> {
    // A name in the root (the common `/favicon.ico`) has no parent but the root: no parsing.
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)).lastIndexOf('/') === 0) return '/';
    let segments: readonly string[];
    try {
      segments = parseRequestTarget(url).segments;
    } catch {
      return '/';
    }
    const depth = this.deepestCandidate(segments);
    if (depth <= 0) return '/';
    const candidate = segments.slice(0, depth);
    const key = candidate.join('/');
    const generation = this.generation();
    if (generation !== null && generation === this.memoGeneration) {
      const known = this.memo.get(key);
      if (known !== undefined) return known;
    }
    return this.lookUp(candidate).then((href) => {
      if (generation !== null && generation === this.generation()) this.remember(generation, key, href);
      return href;
    });
  }

  /** How many leading segments the deepest candidate has: below the failed path, above any dot segment or script directory. */
  private deepestCandidate(segments: readonly string[]): number {
    let depth = segments.length - 1;
    if (this.config.dotfiles !== 'allow') {
      const dot = segments.findIndex((s) => s.charCodeAt(0) === 46);
      if (dot >= 0) depth = Math.min(depth, dot);
    }
    const scripts = scriptDirectoryOf(this.config, segments);
    return scripts === undefined ? depth : Math.min(depth, scripts.length - 1);
  }

  /** Walk up from the candidate to the first folder that exists and is served. */
  private async lookUp(candidate: readonly string[]): Promise<string> {
    for (let depth = candidate.length; depth > 0; depth--) {
      const parts = candidate.slice(0, depth);
      const fsPath = this.config.root + sep + parts.join(sep);
      try {
        if (!(await stat(fsPath)).isDirectory()) continue;
        if (!this.config.followSymlinks && !isInside(await realpath(fsPath), this.config.root)) continue;
        return encodePath(parts, true);
      } catch {
        continue;
      }
    }
    return '/';
  }

  private remember(generation: number, key: string, href: string): void {
    if (generation !== this.memoGeneration || this.memo.size >= MAX_REMEMBERED) {
      this.memo.clear();
      this.memoGeneration = generation;
    }
    this.memo.set(key, href);
  }
}
