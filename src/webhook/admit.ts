import type { IncomingMessage } from 'node:http';
import { HttpError } from '../errors.js';
import type { RequestContext } from '../context.js';
import { prepareBody, spoolBody, tooLarge, type RequestBody } from '../cgi/body.js';
import { allowedFrom, MAX_MAPPED_VALUE_BYTES, type Hook } from './hook.js';
import type { HookInput } from './rules.js';
import type { Check } from './verify.js';

/** Rules and mappings read at most this much of a body; a larger body still reaches the command whole. */
export const MAX_PARSED_BYTES = 1024 * 1024;

/** A delivery let through: the body to feed the command, and the values mapped from it. */
export interface Admitted {
  readonly body: RequestBody;
  /** Mapped environment variables (absent values left out). */
  readonly env: Readonly<Record<string, string>>;
  /** Mapped extra arguments (an absent value is an empty argument). */
  readonly args: readonly string[];
}

/**
 * The gate in front of a webhook route, in the order that keeps an untrusted
 * request from costing anything: the route's address list and credentials,
 * the body read whole (up to the route's limit) while its signature is
 * computed, the verdict, then the `when` rules and the mappings. Throws the
 * HttpError that answers a refusal (403, 401, 413, 400) with nothing run;
 * returns null when the route was not triggered (answered 202 here).
 */
export async function admitHook(ctx: RequestContext, hook: Hook, maxBytes: number, sendContinue: () => void): Promise<Admitted | null> {
  const { req } = ctx;
  // The client as a trusted proxy forwarded it (forwarded.ts), else the peer.
  if (hook.allowFrom && !allowedFrom(hook.allowFrom, ctx.client.address)) {
    throw new HttpError(403, { logMessage: `webhook: ${ctx.client.address} is not in the route's allowFrom` });
  }
  if (hook.authenticate) ctx.remoteUser = await hook.authenticate(req);
  const mustSpool = hook.verifier !== null || hook.readsBody || hook.async;
  if (!mustSpool) return { body: await prepareBody(req, maxBytes, sendContinue), env: {}, args: [] };

  let check: Check | null = null;
  if (hook.verifier) {
    const first = hook.verifier(req.headers, Date.now() / 1000);
    if (typeof first === 'string') throw refused(first);
    check = first;
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  sendContinue();
  const head = new Head(hook.readsBody ? MAX_PARSED_BYTES : 0);
  const body = await spoolBody(req, maxBytes, (chunk) => {
    check?.update(chunk);
    head.add(chunk);
  });
  try {
    const failure = check?.verdict() ?? null;
    if (failure !== null) throw refused(failure);
    if (!hook.readsBody) return { body, env: {}, args: [] };
    const input = hookInput(req, head);
    if (hook.when && !hook.when(input)) {
      void body.dispose();
      answerNotTriggered(ctx);
      return null;
    }
    return { body, ...mapValues(hook, input) };
  } catch (err) {
    void body.dispose();
    throw err;
  }
}

const refused = (why: string): HttpError => new HttpError(403, { publicMessage: 'The request is not signed by the sender this route trusts.', logMessage: `webhook: ${why}` });

/** 202: the delivery was received and is fine, it just does not concern this route (GitHub shows this as a success). */
function answerNotTriggered(ctx: RequestContext): void {
  const text = 'not triggered\n';
  ctx.res.writeHead(202, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  ctx.res.end(ctx.req.method === 'HEAD' ? undefined : text);
}

/** The first bytes of a body, up to a limit; `complete` says whether that was all of it. */
class Head {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  complete = true;
  constructor(private readonly limit: number) {}
  add(chunk: Buffer): void {
    if (this.size + chunk.length > this.limit) {
      this.complete = false;
      chunk = chunk.subarray(0, this.limit - this.size);
    }
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }
  text(): string {
    return Buffer.concat(this.chunks, this.size).toString('utf8');
  }
}

/**
 * What rules and mappings see: a JSON body parsed (only when it fits in
 * MAX_PARSED_BYTES: a JSON prefix is no document), a urlencoded form, and
 * GitHub's form deliveries, whose JSON is in the `payload` field. A body that
 * does not parse leaves the payload absent, so comparisons on it are false.
 */
function hookInput(req: IncomingMessage, head: Head): HookInput {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  let payload: unknown;
  let form: URLSearchParams | undefined;
  if (type === 'application/x-www-form-urlencoded') {
    form = new URLSearchParams(head.text());
    const field = form.get('payload');
    if (field !== null) payload = parseJson(field);
  } else if ((type === 'application/json' || type.endsWith('+json')) && head.complete) {
    payload = parseJson(head.text());
  }
  return { payload, headers: req.headers, query, form };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The mapped values; a value with NUL or over MAX_MAPPED_VALUE_BYTES is 400 and nothing runs. */
function mapValues(hook: Hook, input: HookInput): { env: Record<string, string>; args: string[] } {
  const env: Record<string, string> = {};
  for (const [name, source] of hook.env) {
    const value = source(input);
    if (value !== undefined) env[name] = checked(value, `env ${name}`);
  }
  const args = hook.args.map((source, i) => checked(source(input) ?? '', `args[${i}]`));
  return { env, args };
}

function checked(value: string, what: string): string {
  if (value.includes('\0')) throw new HttpError(400, { publicMessage: `The value for ${what} contains a NUL character.` });
  if (Buffer.byteLength(value) > MAX_MAPPED_VALUE_BYTES) {
    throw new HttpError(400, { publicMessage: `The value for ${what} is larger than ${MAX_MAPPED_VALUE_BYTES} bytes.` });
  }
  return value;
}
