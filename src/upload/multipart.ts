import type busboy from 'busboy';
import { lazy } from '../lazy.js';

/** busboy, loaded by the first multipart upload (lazy.ts). */
const createBusboy = lazy<typeof busboy>('busboy');
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { HttpError } from '../errors.js';
import { ClientGone, feedRequest, TempFile, tooLarge } from './store.js';

/** Where one file of a form goes, decided from its file name before any byte of it is written. */
export interface PartPlace {
  /** Real path of the folder that receives it. */
  readonly folder: string;
  /** The stored name (NFC), before any rename. */
  readonly name: string;
  /** URL path segments of the file, from the root. */
  readonly segments: readonly string[];
}

/** A file of the form, complete and sealed in its temporary file. */
export interface ReceivedPart extends PartPlace {
  readonly temp: TempFile;
}

/** The limits of one form. */
export interface FormLimits {
  readonly maxBytes: number;
  readonly maxFiles: number;
  /** Mode the stored files get. */
  readonly mode: number;
}

/** Non-file fields are ignored, but they cost parsing: these bound them. */
const MAX_FIELD_BYTES = 64 * 1024;
const MAX_FIELDS = 1000;

/**
 * Receive a multipart/form-data body (RFC 7578) with busboy, streaming each
 * file part into a temporary file in its target folder. `place` decides
 * (and may refuse, with an HttpError) where a file goes before any of it is
 * written. Parts with an empty file name (a form's empty file input) and
 * non-file fields are skipped. Resolves the sealed parts in form order once
 * the whole body has arrived; on any failure every temporary file is
 * removed, the request is detached and the failure rethrown.
 */
export async function receiveForm(req: IncomingMessage, limits: FormLimits, place: (filename: string) => Promise<PartPlace>): Promise<ReceivedPart[]> {
  let form: busboy.Busboy;
  try {
    form = createBusboy()({
      headers: req.headers,
      preservePath: true,
      defParamCharset: 'utf8',
      limits: { files: limits.maxFiles, fileSize: limits.maxBytes, fieldSize: MAX_FIELD_BYTES, fields: MAX_FIELDS },
    });
  } catch {
    throw new HttpError(400, { publicMessage: 'The multipart/form-data body has no valid boundary.' });
  }
  const received: (ReceivedPart | null)[] = [];
  const temps: TempFile[] = [];
  const streams: Readable[] = [];
  const pending: Promise<void>[] = [];
  let failure: unknown = null;
  let fail!: (err: unknown) => void;
  const failed = new Promise<never>((_, reject) => {
    fail = (err) => {
      if (failure !== null) return;
      failure = err;
      reject(err);
    };
  });
  failed.catch(() => {});

  const receivePart = async (index: number, stream: Readable, filename: string): Promise<void> => {
    const where = await place(filename);
    if (failure !== null) return void stream.resume();
    const temp = await TempFile.create(where.folder);
    temps.push(temp);
    if (failure !== null) return void stream.resume();
    await temp.receive(stream);
    if ((stream as Readable & { truncated?: boolean }).truncated) throw tooLarge(limits.maxBytes);
    await temp.seal(null, limits.mode);
    received[index] = { ...where, temp };
  };

  form.on('file', (_field: string, stream: Readable, info: busboy.FileInfo) => {
    // Every stream gets an error handler: a file stream destroyed with its form emits one, whether or not
    // anything reads it yet (a failure reaches receivePart through its own listener).
    stream.on('error', () => {});
    if (failure !== null || !info.filename) return void stream.resume();
    const index = received.push(null) - 1;
    streams.push(stream);
    pending.push(receivePart(index, stream, info.filename).catch(fail));
  });
  form.on('filesLimit', () => fail(new HttpError(413, { publicMessage: `An upload may hold at most ${limits.maxFiles} files (see --max-upload-files).`, headers: { Connection: 'close' } })));
  form.on('error', (err: Error) => fail(err instanceof HttpError || err instanceof ClientGone ? err : new HttpError(400, { publicMessage: 'The multipart/form-data body is malformed.', logMessage: `multipart: ${err.message}` })));
  const finished = new Promise<void>((resolve) => form.once('finish', resolve));
  const detach = feedRequest(req, form, limits.maxBytes);
  try {
    await Promise.race([finished, failed]);
    await Promise.race([Promise.all(pending), failed]);
    if (received.length === 0) throw new HttpError(400, { publicMessage: 'The form holds no file.' });
    return received as ReceivedPart[];
  } catch (err) {
    fail(err);
    detach();
    form.destroy();
    for (const stream of streams) stream.destroy();
    await Promise.allSettled(pending);
    await Promise.all(temps.map((t) => t.discard()));
    throw failure;
  }
}
