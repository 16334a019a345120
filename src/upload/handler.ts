import { lstat, stat, unlink } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sep } from 'node:path';
import { checkCrossOrigin, type AccessPolicy } from '../access.js';
import type { Config } from '../config.js';
import type { RequestContext } from '../context.js';
import { HttpError, sendError } from '../errors.js';
import { isServerCode } from '../server-code.js';
import { encodePath, parseRequestTarget, type RequestPath } from '../request-path.js';
import type { UploadConfig } from './config.js';
import { receiveForm, type PartPlace, type ReceivedPart } from './multipart.js';
import { checkUploadName, checkUploadPath } from './names.js';
import { acceptsUploads, CreatedFolders, isFolder, openFolder, refuseServerCode, storageFailure } from './place.js';
import { ClientGone, exists409, removeStaleTemps, TempFile, tooLarge, type Stored } from './store.js';

/** What the resolver found for the request (the pipeline's `Target`), as far as uploads care. */
export interface FoundTarget {
  readonly kind: string;
}

/** Seconds a client is asked to wait when every upload slot is taken. */
const RETRY_AFTER_S = '2';
const MAX_NAME_BYTES = 255;

/**
 * Uploads (issue 16): a multipart/form-data POST to a folder, a PUT of a
 * file. One instance per server, built by the pipeline when `config.upload`
 * is set; its {@link take} is the pipeline's one hook.
 *
 * Precedence: the resolver answers first, and uploads take only what static
 * serving would refuse: a folder or file asked for with POST or PUT (the
 * `other-method` target) or a name that does not exist yet (404). Command
 * routes, script directories, and (with the real-CGI issue's --cgi-ext) a
 * folder whose index is a script resolve to `script` targets and run, as
 * they would without uploads: that is the seam, the resolver decides.
 */
export class Uploads {
  private readonly up: UploadConfig;
  /** The access policy without --cors: a cross-origin upload needs its origin in --allow-origin. */
  private readonly strictOrigins: AccessPolicy;
  private active = 0;
  /** The start-up sweep of stale temporary files; resolves how many it removed. */
  readonly swept: Promise<number>;

  constructor(private readonly config: Config) {
    this.up = config.upload!;
    this.strictOrigins = { ...config.access, cors: false };
    const areas = this.up.dirs === null ? [config.root] : this.up.dirs.map((d) => [config.root, ...d].join(sep));
    this.swept = removeStaleTemps(areas).then((n) => {
      if (n > 0) config.log?.(`scriptserve: removed ${n} temporary file(s) of interrupted uploads`);
      return n;
    });
  }

  /**
   * The pipeline's hook for PUT and POST when uploads are on. `found` is what
   * the resolver returned (or the promise of it); `otherwise` dispatches a
   * target as if uploads were off.
   */
  async take(ctx: RequestContext, method: string, found: FoundTarget | Promise<FoundTarget>, otherwise: () => void | Promise<void>): Promise<void> {
    let target: FoundTarget | null;
    let notFound: unknown = null;
    try {
      target = await found;
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404)) throw err;
      [target, notFound] = [null, err];
    }
    // A miss the lookup (lookup.ts) answers as a target rather than a throw is a miss all the same.
    if (target?.kind === 'not-found') target = null;
    if (target !== null && target.kind !== 'other-method') return otherwise();
    const path = parseRequestTarget(ctx.url);
    const folder = method === 'PUT' ? path.segments.slice(0, -1) : path.segments;
    const declined = method === 'PUT' ? path.trailingSlash || path.segments.length === 0 : false;
    if (declined || !acceptsUploads(this.up, folder)) {
      if (target !== null) return otherwise();
      throw notFound ?? new HttpError(404);
    }
    // POST to a file stays 405: only folders take forms.
    if (method === 'POST' && target !== null && !(await isDirectory([this.config.root, ...folder].join(sep)))) return otherwise();
    if (this.config.access.cors) checkCrossOrigin(this.strictOrigins, ctx.req, ctx.client.host);
    return this.receive(ctx, method, path, folder);
  }

  /** Limits, a slot, then the body; failures after the body started are answered on a connection that then closes. */
  private async receive(ctx: RequestContext, method: string, path: RequestPath, folder: readonly string[]): Promise<void> {
    const { req } = ctx;
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > this.up.maxBytes) throw tooLarge(this.up.maxBytes);
    if (method === 'PUT' && req.headers['content-range'] !== undefined) {
      // RFC 9110 14.5: a partial PUT must be refused, not stored as the whole file.
      throw new HttpError(400, { publicMessage: 'PUT with Content-Range (a partial upload) is not supported.' });
    }
    if (this.active >= this.up.maxConcurrent) {
      throw new HttpError(503, { publicMessage: 'Too many uploads at once; try again shortly.', headers: { 'Retry-After': RETRY_AFTER_S } });
    }
    this.active++;
    try {
      if (method === 'PUT') await this.put(ctx, folder, path.segments[path.segments.length - 1]!);
      else await this.post(ctx, folder);
    } catch (err) {
      if (err instanceof ClientGone) {
        ctx.res.destroy();
        return;
      }
      const answer = storageFailure(err);
      throw req.complete ? answer : closing(answer);
    } finally {
      this.active--;
    }
  }

  /** PUT: one file, the body is its content. 201 with Location, or 204 when it replaced a file (overwrite). */
  private async put(ctx: RequestContext, folderSegments: readonly string[], rawName: string): Promise<void> {
    const { req, res, config } = ctx;
    const name = checkUploadName(rawName, config.dotfiles);
    const created = this.up.mkdir ? new CreatedFolders() : null;
    let temp: TempFile | null = null;
    try {
      const folder = await openFolder(config, folderSegments, created);
      await this.checkTarget(folder, name);
      sendContinue(req, res);
      temp = await TempFile.create(folder);
      await temp.receive(req, this.up.maxBytes);
      const declared = req.headers['content-length'];
      await temp.seal(declared === undefined ? null : Number(declared), this.up.fileMode);
      const stored = await temp.commit(folder, name, this.up.onConflict, (n) => this.nameAllowed(folder, n));
      const location = this.config.basePath + encodePath([...folderSegments, stored.name], false);
      if (stored.replaced) {
        res.statusCode = 204;
        res.setHeader('Content-Location', location);
        res.end();
        return;
      }
      sendError(res, 201, { headers: { Location: location } });
    } catch (err) {
      await temp?.discard();
      await created?.undo();
      throw err;
    }
  }

  /** POST multipart/form-data to a folder: every file field stored, or none. */
  private async post(ctx: RequestContext, folderSegments: readonly string[]): Promise<void> {
    const { req, res, config } = ctx;
    const type = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data\s*;/i.test(type)) {
      throw new HttpError(415, { publicMessage: 'Uploads by POST must be multipart/form-data (use PUT for a raw body).', headers: { Accept: 'multipart/form-data' } });
    }
    const created = this.up.mkdir ? new CreatedFolders() : null;
    let parts: ReceivedPart[] = [];
    const stored: Stored[] = [];
    try {
      await openFolder(config, folderSegments, created);
      sendContinue(req, res);
      const limits = { maxBytes: this.up.maxBytes, maxFiles: this.up.maxFiles, mode: this.up.fileMode };
      parts = await receiveForm(req, limits, (filename) => this.placePart(folderSegments, filename, created));
      for (const part of parts) {
        stored.push(await part.temp.commit(part.folder, part.name, this.up.onConflict, (n) => this.nameAllowed(part.folder, n)));
      }
    } catch (err) {
      // All or nothing: files this request added are taken back (a replaced file cannot be).
      await Promise.all(stored.filter((s) => !s.replaced).map((s) => unlink(s.path).catch(() => {})));
      await Promise.all(parts.map((p) => p.temp.discard()));
      await created?.undo();
      throw err;
    }
    await answerForm(req, res, this.config.basePath, folderSegments, parts, stored);
  }

  /** Where a file of a form goes: its name checked, a relative path (folder upload) only with --upload-mkdir. */
  private async placePart(folderSegments: readonly string[], filename: string, created: CreatedFolders | null): Promise<PartPlace> {
    const { config } = this;
    let relative: string[];
    if (filename.includes('/')) {
      if (created === null) throw new HttpError(400, { publicMessage: 'Bad upload name: a file name with folders needs --upload-mkdir.' });
      relative = checkUploadPath(filename, config.dotfiles);
    } else {
      relative = [checkUploadName(filename, config.dotfiles)];
    }
    const name = relative.pop()!;
    const segments = [...folderSegments, ...relative];
    const folder = await openFolder(config, segments, created);
    await this.checkTarget(folder, name);
    return { folder, name, segments: [...segments, name] };
  }

  /** Before any byte: not server code, not a folder, and (policy `error`) not an existing name. */
  private async checkTarget(folder: string, name: string): Promise<void> {
    const path = folder + sep + name;
    await refuseServerCode(this.config, path);
    if (await isFolder(path)) throw new HttpError(409, { publicMessage: 'A folder has this name; an upload never replaces a folder.' });
    if (this.up.onConflict === 'error' && (await exists(path))) throw exists409();
  }

  /** May the rename policy store a file under this name? */
  private nameAllowed(folder: string, name: string): boolean {
    return Buffer.byteLength(name) <= MAX_NAME_BYTES && !isServerCode(this.config, folder + sep + name);
  }
}

/** Is this a directory, through symlinks? */
async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * 303 See Other to the folder's listing for a browser's form (it prefers
 * HTML), so that a reload does not post again; otherwise 201 with the stored
 * files as JSON.
 */
async function answerForm(
  req: IncomingMessage,
  res: ServerResponse,
  basePath: string,
  folderSegments: readonly string[],
  parts: readonly ReceivedPart[],
  stored: readonly Stored[],
): Promise<void> {
  if (await prefersHtml(req)) {
    sendError(res, 303, { headers: { Location: basePath + encodePath(folderSegments, true) } });
    return;
  }
  const files = stored.map((s, i) => {
    const segments = [...parts[i]!.segments.slice(0, -1), s.name];
    return { name: segments.slice(folderSegments.length).join('/'), size: s.size, url: basePath + encodePath(segments, false) };
  });
  const body = Buffer.from(JSON.stringify(files) + '\n');
  res.statusCode = 201;
  if (files.length === 1) res.setHeader('Location', files[0]!.url);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.end(body);
}

/** Does the client prefer text/html over JSON (a browser's form post)? curl's `*\/*` gets JSON. */
async function prefersHtml(req: IncomingMessage): Promise<boolean> {
  const accept = req.headers.accept;
  if (accept === undefined || !accept.includes('html')) return false;
  const { default: Negotiator } = await import('negotiator');
  return new Negotiator(req).mediaType(['application/json', 'text/html']) === 'text/html';
}

/** Send 100 Continue (server.ts defers it) once the upload is about to read its body. */
function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  const r = req as IncomingMessage & { expectContinue?: boolean };
  if (r.expectContinue && !res.headersSent) {
    r.expectContinue = false;
    res.writeContinue();
  }
}

/**
 * The answer to a request whose body is refused part-way: it closes the
 * connection, after the rest of the body is read and dropped for a while
 * (sendError, linger.ts), since what is left of it is not worth reading.
 */
function closing(err: unknown): HttpError {
  const known = err instanceof HttpError ? err : new HttpError(500, { logMessage: err instanceof Error ? err.message : String(err) });
  return new HttpError(known.status, { publicMessage: known.publicMessage, logMessage: known.message, headers: { ...known.headers, Connection: 'close' } });
}
