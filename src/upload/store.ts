import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { close, fchmod, fdatasync, open as openFd, write } from 'node:fs';
import { link, lstat, open, opendir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { sep } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
  /** The write in flight, if any. */
  private io: Promise<void> = Promise.resolve();
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
   * Stream `source` into the file with backpressure. `source` is never the
   * request itself (see {@link feedRequest}): a failure here must leave the
   * connection able to carry the error's answer.
   */
  async receive(source: Readable): Promise<void> {
    await pipeline(source, this.sink());
  }

  /**
   * A writable over the descriptor that knows when a write is in flight: the
   * descriptor is closed only once none is ({@link discard} waits), since a
   * write queued on a closed number would land in whatever file opened it
   * next (fs.WriteStream with autoClose off gives no such guarantee).
   */
  private sink(): Writable {
    const fd = this.fd!;
    return new Writable({
      highWaterMark: SINK_BUFFER_BYTES,
      write: (chunk: Buffer, _enc, cb) => {
        this.io = writeFully(fd, chunk).then(
          () => {
            this.size += chunk.length;
            cb();
          },
          (err: Error) => cb(err),
        );
      },
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
    await this.io;
    if (fd !== null) await closeAsync(fd).catch(() => {});
    if (!this.committed) await unlink(this.path).catch(() => {});
  }
}

/** Bytes a file's writable buffers before it asks its source to wait. */
const SINK_BUFFER_BYTES = 256 * 1024;
const openAsync = promisify(openFd);
const writeAsync = promisify(write);

/** Write all of `buf` at the descriptor's position (a short write continues where it stopped). */
async function writeFully(fd: number, buf: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buf.length) {
    const { bytesWritten } = await writeAsync(fd, buf, offset, buf.length - offset, null);
    offset += bytesWritten;
  }
}
const closeAsync = promisify(close);
const fdatasyncAsync = promisify(fdatasync);
const fchmodAsync = promisify(fchmod);

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
  await rename(from, to);
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
 * Pipe the request body into `dest` (a {@link byteLimit}) without tying the
 * request to the pipeline's fate: stream.pipeline would destroy the request,
 * and with it the socket, on any failure downstream, leaving no way to send
 * the 400, 409 or 507 that explains it. A client that leaves before the body
 * ends fails `dest`. Returns the function that detaches the request.
 */
export function feedRequest(req: IncomingMessage, dest: Writable): () => void {
  const gone = (): void => {
    if (!req.complete) dest.destroy(new ClientGone());
  };
  req.once('close', gone);
  req.once('aborted', gone);
  req.pipe(dest);
  return () => {
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

/** A stream that counts every byte of a request and fails with 413 once `max` is passed. */
export function byteLimit(max: number, seen = { bytes: 0 }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen.bytes += chunk.length;
      if (seen.bytes > max) cb(tooLarge(max));
      else cb(null, chunk);
    },
  });
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
