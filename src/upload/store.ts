import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { close, fchmod, fdatasync, open as openFd, write } from 'node:fs';
import { link, lstat, open, opendir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { sep } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { HttpError } from '../errors.js';
import type { ConflictPolicy } from './config.js';
import { renamedName, TEMP_PREFIX } from './names.js';

/** `.scriptserve-upload-<pid>-<random>`: whose upload it is, so start-up removes only the dead's. */
const TEMP_NAME = /^\.scriptserve-upload-(\d+)-[0-9a-f]+$/;
/** How many `name (n).ext` the rename policy tries before giving up with 409. */
const MAX_RENAMES = 1000;
/** Directories the start-up sweep looks into at most, so a huge root cannot keep it busy for long. */
const MAX_SWEEP_DIRS = 10000;

/** A stored file: where it is, how big, and whether it replaced one (overwrite). */
export interface Stored {
  readonly path: string;
  readonly name: string;
  readonly size: number;
  readonly replaced: boolean;
}

/**
 * One upload's temporary file: created mode 0600 (nobody else reads a half
 * file) in the target folder itself (so the final rename is atomic, on one
 * file system), named as a dotfile (never listed, served or archived).
 * Nothing appears under the real name until {@link commit}.
 */
export class TempFile {
  /** The open descriptor (a plain fd: a FileHandle under a stream that does not close it never closes either). */
  private fd: number | null;
  private committed = false;
  /** A write is in flight; `idle` is called when it ends. */
  private writing = false;
  private idle: (() => void) | null = null;
  /** Bytes written so far. */
  size = 0;

  private constructor(readonly path: string, fd: number) {
    this.fd = fd;
  }

  static async create(folder: string): Promise<TempFile> {
    const path = `${folder}${sep}${TEMP_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`;
    return new TempFile(path, await openAsync(path, 'wx', 0o600));
  }

  /**
   * Write `source` into the file, one chunk at a time: the source is paused
   * while its chunk is written, so an upload holds one chunk, whatever the
   * client sends (no stream buffer in between). The descriptor is closed only
   * once no write is in flight ({@link discard} waits): a write queued on a
   * closed number would land in whatever file opened it next. `maxBytes`:
   * more fails with 413. A request source that closes before its end is
   * {@link ClientGone}.
   */
  receive(source: Readable, maxBytes = Infinity): Promise<void> {
    const fd = this.fd!;
    // Destroyed before anyone listened (its form failed meanwhile): no 'close' will come to say so.
    if (source.destroyed) return Promise.reject(new Error('the upload stream closed before its end'));
    return new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        source.off('data', onData);
        source.pause();
        reject(err);
      };
      const onData = (chunk: Buffer): void => {
        if (this.size + chunk.length > maxBytes) return fail(tooLarge(maxBytes));
        source.pause();
        this.writing = true;
        writeFully(fd, chunk, 0, (err) => {
          this.writing = false;
          this.idle?.();
          if (err) return fail(err);
          this.size += chunk.length;
          if (failed) return;
          // 'end' may come while the last chunk is still being written (a stream ends once its buffer is empty, paused or not).
          if (ended) resolve();
          else source.resume();
        });
      };
      let ended = false;
      // A request whose client left, or a form's file stream destroyed with its form.
      const gone = (): void => {
        if (!ended) fail((source as Partial<IncomingMessage>).complete === false ? new ClientGone() : new Error('the upload stream closed before its end'));
      };
      source.on('data', onData);
      source.once('end', () => {
        ended = true;
        if (!failed && !this.writing) resolve();
      });
      source.once('error', fail);
      source.once('close', gone);
      source.once('aborted', gone);
    });
  }

  /**
   * The body is complete: check its size, flush it to disk (a crash after the
   * rename must not leave an empty file under the real name) and give it the
   * mode a new file gets. Then close.
   */
  async seal(expectedSize: number | null, mode: number): Promise<void> {
    if (expectedSize !== null && expectedSize !== this.size) {
      throw new HttpError(400, { publicMessage: 'The body is shorter or longer than its Content-Length.' });
    }
    const fd = this.fd!;
    await fdatasyncAsync(fd);
    await fchmodAsync(fd, mode);
    this.fd = null;
    await closeAsync(fd);
  }

  /**
   * Put the sealed file under `folder/name` by the policy (`allowed` vets
   * each name the rename policy tries: length, server code). `error` and
   * `rename` use link(2), which fails if the name exists: of two uploads of one
   * name, exactly one gets it, and the other 409 or the next free name.
   * `overwrite` is rename(2): readers see the old file or the new, never a mix.
   */
  async commit(folder: string, name: string, policy: ConflictPolicy, allowed: (name: string) => boolean): Promise<Stored> {
    if (policy === 'overwrite') {
      const path = folder + sep + name;
      const replaced = await exists(path);
      await rename(this.path, path);
      this.committed = true;
      return { path, name, size: this.size, replaced };
    }
    for (let n = 0; n <= (policy === 'rename' ? MAX_RENAMES : 0); n++) {
      const candidate = n === 0 ? name : renamedName(name, n);
      if (!allowed(candidate)) break;
      const path = folder + sep + candidate;
      if (await linkOnce(this.path, path)) {
        this.committed = true;
        await unlink(this.path).catch(() => {});
        return { path, name: candidate, size: this.size, replaced: false };
      }
    }
    throw exists409();
  }

  /** Close and remove the temporary file, unless it was committed; never throws. */
  async discard(): Promise<void> {
    const fd = this.fd;
    this.fd = null;
    if (this.writing) await new Promise<void>((resolve) => (this.idle = resolve));
    if (fd !== null) await closeAsync(fd).catch(() => {});
    if (!this.committed) await unlink(this.path).catch(() => {});
  }
}

const openAsync = promisify(openFd);

const closeAsync = promisify(close);
const fdatasyncAsync = promisify(fdatasync);
const fchmodAsync = promisify(fchmod);

/** Write all of `buf` from `offset` at the descriptor's position (a short write continues where it stopped); callbacks, no promise per chunk. */
function writeFully(fd: number, buf: Buffer, offset: number, done: (err: Error | null) => void): void {
  write(fd, buf, offset, buf.length - offset, null, (err, written) => {
    if (err) done(err);
    else if (offset + written < buf.length) writeFully(fd, buf, offset + written, done);
    else done(null);
  });
}

/** 409 for a name that exists (policy `error`, or `rename` out of names). */
export function exists409(): HttpError {
  return new HttpError(409, { publicMessage: 'A file with this name already exists (see --on-conflict).' });
}

/**
 * link(2) `from` to `to`: true when it was made, false when `to` exists. On a
 * file system without hard links (FAT, some network mounts) the name is
 * claimed with an exclusive create and the file renamed over it: still no
 * clobbering, but a crash in between leaves an empty file under the name.
 */
async function linkOnce(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw err;
  }
  let claim: FileHandle;
  try {
    claim = await open(to, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  await claim.close();
  try {
    await rename(from, to);
  } catch (err) {
    // The empty claim must not stay under the real name.
    await unlink(to).catch(() => {});
    throw err;
  }
  return true;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Pipe the request body into `dest`, counting its bytes on the way (no
 * stream in between: every stage would hold a chunk more per upload) and
 * failing `dest` with 413 once `maxBytes` is passed. The request is not tied
 * to the pipeline's fate: stream.pipeline would destroy it, and with it the
 * socket, on any failure downstream, leaving no way to send the 400, 409 or
 * 507 that explains it. A client that leaves before the body ends fails
 * `dest`. Returns the function that detaches the request.
 */
export function feedRequest(req: IncomingMessage, dest: Writable, maxBytes: number): () => void {
  let seen = 0;
  const count = (chunk: Buffer): void => {
    seen += chunk.length;
    if (seen > maxBytes) {
      req.unpipe(dest);
      dest.destroy(tooLarge(maxBytes));
    }
  };
  const gone = (): void => {
    if (!req.complete) dest.destroy(new ClientGone());
  };
  req.on('data', count);
  req.once('close', gone);
  req.once('aborted', gone);
  req.pipe(dest);
  return () => {
    req.off('data', count);
    req.off('close', gone);
    req.off('aborted', gone);
    req.unpipe(dest);
  };
}

/** The client closed the connection before its body ended: nobody is left to answer. */
export class ClientGone extends Error {
  constructor() {
    super('client left during the upload');
  }
}

/** 413, and the connection is closed after it: the rest of the body is not worth reading. */
export function tooLarge(max: number): HttpError {
  return new HttpError(413, { publicMessage: `The upload is larger than the limit of ${max} bytes (see --max-upload).`, headers: { Connection: 'close' } });
}

/**
 * Remove the temporary files that uploads of processes no longer running
 * left behind (a crash, a kill -9), under `dirs`. Files of running processes
 * are kept: another worker or another instance may be writing them. Symlinks
 * are not followed. Resolves the number removed; never throws.
 */
export async function removeStaleTemps(dirs: readonly string[]): Promise<number> {
  let removed = 0;
  let visited = 0;
  const queue = [...dirs];
  while (queue.length > 0 && visited < MAX_SWEEP_DIRS) {
    const dir = queue.shift()!;
    visited++;
    let entries: Dirent[];
    try {
      entries = [];
      for await (const entry of await opendir(dir)) entries.push(entry);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) queue.push(dir + sep + entry.name);
      else if (entry.isFile()) {
        const m = TEMP_NAME.exec(entry.name);
        if (m && !isRunning(Number(m[1]))) {
          await unlink(dir + sep + entry.name).then(() => removed++, () => {});
        }
      }
    }
  }
  return removed;
}

/** Is a process with this pid running? EPERM means it exists but is another user's. */
function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
