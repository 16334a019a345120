import type { Dirent } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Pack } from 'tar-stream';
import { lazy } from '../lazy.js';
import type { Config } from '../config.js';
import type { RequestContext } from '../context.js';
import { isInside, isServerCode, scriptDirectoryOf } from '../server-code.js';
import { compareNatural } from './listing-view.js';

/** tar-stream, loaded by the first archive (lazy.ts). */
const tarStream = lazy<typeof import('tar-stream')>('tar-stream');

/**
 * `?download=tar`: a listed folder as a tar archive, streamed as it is
 * read (tar-stream, with backpressure from the socket back to the file
 * reads). It holds exactly what static serving would serve below the folder,
 * and never more:
 *
 * - no dotfiles or dot-directories, whatever `--dotfiles` says (an archive
 *   is where a forgotten `.git` or `.env` would leak in bulk), which also
 *   keeps out the uploads' temporaries (`.scriptserve-upload-*`);
 * - nothing `isServerCode` claims (script directories, interpreter-mapped
 *   extensions, the config file, route commands), and no path that static
 *   serving refuses as a script directory by its URL spelling;
 * - symlinks only as static serving follows them: inside the root, or
 *   anywhere with `--follow-symlinks`; a symlink back to a folder being
 *   packed is left out (no loops);
 * - regular files and folders only, with fixed modes (0644, 0755), owner 0
 *   and no owner names.
 *
 * A file that cannot be opened is left out (static serving would answer
 * 403); one that fails or shrinks while being read ends the response
 * abruptly, so the client sees a broken download, never a short file.
 */

/** Is this request the archive of a folder (`/dir/?download=tar`)? Cheap: most URLs have no `download=`. */
export function asksForArchive(url: string): boolean {
  const q = url.indexOf('?');
  if (q < 0 || url.indexOf('download=', q) < 0) return false;
  const path = url.slice(0, q);
  return path.endsWith('/') && new URLSearchParams(url.slice(q + 1)).get('download') === 'tar';
}

/** The state of one archive's walk. */
interface Walk {
  readonly config: Config;
  readonly pack: Pack;
  /** Set when the client left: stop reading. */
  stopped: boolean;
}

/**
 * Answer `?download=tar` for the folder at `fsPath` (reached by the URL path
 * `segments`, decoded). HEAD gets the headers only.
 */
export async function sendArchive(ctx: RequestContext, fsPath: string, segments: readonly string[]): Promise<void> {
  const { req, res, config } = ctx;
  const name = segments.length === 0 ? 'root' : segments[segments.length - 1]!;
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/x-tar');
  res.setHeader('Content-Disposition', contentDisposition(name + '.tar'));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const pack = tarStream().pack();
  // Failures are handled where they surface (the walk, the relay); an 'error' event must not also crash the process.
  pack.on('error', () => {});
  const walk: Walk = { config, pack, stopped: false };
  res.once('close', () => {
    if (res.writableFinished) return;
    walk.stopped = true;
    pack.destroy();
  });
  const sent = relay(pack, ctx);
  try {
    const real = await realpath(fsPath);
    await addFolder(walk, fsPath, name, [...segments], new Set([real]));
    pack.finalize();
  } catch (err) {
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
    res.destroy();
  }
  await sent;
}

/**
 * Copy the archive to the response as it is produced, waiting for `drain`
 * when the socket is full (which in turn holds back the file reads),
 * counting the bytes for the access log as they go. A failed archive cuts
 * the connection.
 */
async function relay(pack: Pack, ctx: RequestContext): Promise<void> {
  const { res } = ctx;
  ctx.bytes = 0;
  try {
    for await (const chunk of pack as AsyncIterable<Buffer>) {
      if (res.destroyed) break;
      ctx.bytes += chunk.length;
      if (!res.write(chunk)) await drained(res);
    }
    if (!res.destroyed) res.end();
  } catch {
    res.destroy();
  }
}

/** Until the response can take more, or is closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** RFC 6266: an ASCII fallback and the UTF-8 name (RFC 8187). */
function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const utf8 = encodeURIComponent(fileName).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

/** Add a folder's entry and everything servable below it, in listing order. */
async function addFolder(walk: Walk, fsPath: string, tarPath: string, segments: string[], branch: Set<string>): Promise<void> {
  let dirents: Dirent[];
  let mtime: Date;
  try {
    mtime = (await stat(fsPath)).mtime;
    dirents = await readdir(fsPath, { withFileTypes: true });
  } catch {
    return; // vanished or unreadable (static serving would answer 404 or 403)
  }
  await addEntry(walk, { name: tarPath + '/', type: 'directory', mode: 0o755, mtime });
  dirents.sort((a, b) => compareNatural(a.name, b.name));
  for (const d of dirents) {
    if (walk.stopped) return;
    if (d.name.charCodeAt(0) === 46 /* . */) continue;
    const path = fsPath + sep + d.name;
    const childSegments = [...segments, d.name];
    if (scriptDirectoryOf(walk.config, childSegments) !== undefined) continue;
    const found = await servable(walk.config, path, d);
    if (found === null) continue;
    if (found.dir) {
      if (branch.has(found.real)) continue;
      branch.add(found.real);
      await addFolder(walk, path, `${tarPath}/${d.name}`, childSegments, branch);
      branch.delete(found.real);
    } else {
      await addFile(walk, path, `${tarPath}/${d.name}`);
    }
  }
}

/** The real path of an entry static serving would serve, and whether it is a folder; null for anything else. */
async function servable(config: Config, path: string, d: Dirent): Promise<{ real: string; dir: boolean } | null> {
  try {
    const real = d.isSymbolicLink() || d.isDirectory() ? await realpath(path) : path;
    if (!config.followSymlinks && !isInside(real, config.root)) return null;
    if (isServerCode(config, real)) return null;
    const s = d.isSymbolicLink() ? await stat(path) : d;
    if (s.isDirectory()) return { real, dir: true };
    return s.isFile() ? { real, dir: false } : null;
  } catch {
    return null; // vanished or dangling: not served either
  }
}

/** Add one file, streamed from a single descriptor so the size in its header is the size read. */
async function addFile(walk: Walk, path: string, tarPath: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return;
  }
  try {
    const s = await handle.stat();
    if (!s.isFile()) return;
    const header = { name: tarPath, type: 'file' as const, size: s.size, mode: 0o644, mtime: s.mtime, uid: 0, gid: 0 };
    if (s.size === 0) {
      await addEntry(walk, header);
      return;
    }
    const done = new Promise<void>((resolve, reject) => {
      const sink = walk.pack.entry(header, (err) => (err ? reject(err) : resolve()));
      pipeline(handle!.createReadStream({ start: 0, end: s.size - 1, autoClose: false }), sink).catch(reject);
    });
    await done;
  } finally {
    await handle.close();
  }
}

/** An entry without a body (a folder, an empty file). */
function addEntry(walk: Walk, header: Parameters<Pack['entry']>[0]): Promise<void> {
  return new Promise((resolve, reject) => {
    walk.pack.entry({ uid: 0, gid: 0, ...header }, EMPTY, (err) => (err ? reject(err) : resolve()));
  });
}

const EMPTY = Buffer.alloc(0);
