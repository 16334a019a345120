import { randomBytes } from 'node:crypto';
import type { RequestBody } from '../cgi/body.js';
import type { RunningScript, RunOptions } from '../cgi/supervise.js';
import type { RequestContext } from '../context.js';
import { HttpError } from '../errors.js';
import { allowedFrom, type Hook } from './hook.js';

/** Where a job's status page lives: the 202's Location names it. */
export const JOBS_PATH = '/.well-known/scriptserve/jobs/';
/** How long a finished job's status stays readable. */
export const JOB_RETENTION_MS = 60 * 60 * 1000;
/** The last bytes of a job's output (stdout and stderr as they came) that its status shows. */
export const JOB_OUTPUT_BYTES = 64 * 1024;
/** Finished jobs remembered at most, whatever their age, so a flood of deliveries cannot grow memory. */
const MAX_FINISHED = 1000;

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'killed' | 'cancelled';

/** One async run of a webhook route. */
interface Job {
  readonly id: string;
  /** `METHOD /path` of the route: the unit its limits count in, kept across reloads. */
  readonly route: string;
  readonly hook: Hook;
  readonly maxConcurrent: number;
  state: JobState;
  exitCode: number | null;
  signal: string | null;
  readonly created: Date;
  started: Date | null;
  finished: Date | null;
  readonly output: Buffer[];
  outputBytes: number;
  /** What starts it; dropped once started, so the job holds no body or environment after. */
  pending: { options: RunOptions; body: RequestBody } | null;
}

/** What a board needs from the server: starting and tracking scripts (so a graceful stop waits for jobs) and the log. */
export interface JobRunner {
  start(options: RunOptions): Promise<RunningScript>;
  /** Count a started job among the server's running scripts: a graceful stop waits for it, then kills it. */
  track(script: RunningScript): void;
  log(message: string): void;
}

/**
 * The async jobs of webhook routes in this process: queued per route beyond
 * its `maxConcurrent`, refused (503) beyond its `maxJobs`, run independently of
 * the client that asked, and remembered for an hour after they end. Jobs live
 * in the process that took the request (with --workers or many instances, a
 * job's status is known only there).
 */
export class JobBoard {
  private readonly jobs = new Map<string, Job>();
  private readonly perRoute = new Map<string, { running: number; queue: Job[] }>();
  private stopping = false;

  constructor(private readonly runner: JobRunner) {}

  /**
   * Queue a job for a route and start it if the route has room. Throws 503
   * when the route already has `maxJobs` queued or running, or the server is
   * stopping. Returns the job's id.
   */
  submit(route: string, hook: Hook, maxConcurrent: number, options: RunOptions, body: RequestBody): string {
    this.sweep();
    const slot = this.slot(route);
    if (this.stopping) throw new HttpError(503, { publicMessage: 'The server is stopping.', logMessage: 'job refused: stopping' });
    if (slot.running + slot.queue.length >= hook.maxJobs) {
      throw new HttpError(503, {
        publicMessage: 'Too many jobs are queued for this route; try again later.',
        logMessage: `job refused: ${route} has ${hook.maxJobs} jobs queued or running`,
        headers: { 'Retry-After': '5' },
      });
    }
    const job: Job = {
      id: randomBytes(18).toString('base64url'),
      route,
      hook,
      maxConcurrent,
      state: 'queued',
      exitCode: null,
      signal: null,
      created: new Date(),
      started: null,
      finished: null,
      output: [],
      outputBytes: 0,
      pending: { options, body },
    };
    this.jobs.set(job.id, job);
    slot.queue.push(job);
    this.startNext(route);
    return job.id;
  }

  /**
   * A graceful stop began: queued jobs never start (each is logged as
   * cancelled); running ones get the grace period, then the server kills them.
   */
  stop(): void {
    this.stopping = true;
    for (const [route, slot] of this.perRoute) {
      for (const job of slot.queue.splice(0)) this.end(job, 'cancelled', null, null, `job ${job.id} for ${route}: cancelled, the server is stopping`);
    }
  }

  /** Answer GET/HEAD of a job's status page, behind the route's own address list and credentials. */
  async answer(ctx: RequestContext, id: string): Promise<void> {
    this.sweep();
    const { req, res } = ctx;
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, { headers: { Allow: 'GET, HEAD' } });
    const job = this.jobs.get(id);
    if (!job) throw new HttpError(404);
    if (job.hook.allowFrom && !allowedFrom(job.hook.allowFrom, ctx.client.address)) throw new HttpError(404);
    if (job.hook.authenticate) ctx.remoteUser = await job.hook.authenticate(req);
    const body = JSON.stringify(
      {
        id: job.id,
        route: job.route,
        status: job.state,
        exitCode: job.exitCode,
        signal: job.signal,
        created: job.created.toISOString(),
        started: job.started?.toISOString() ?? null,
        finished: job.finished?.toISOString() ?? null,
        output: Buffer.concat(job.output).toString('utf8'),
      },
      null,
      2,
    ) + '\n';
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private slot(route: string): { running: number; queue: Job[] } {
    let slot = this.perRoute.get(route);
    if (!slot) this.perRoute.set(route, (slot = { running: 0, queue: [] }));
    return slot;
  }

  private startNext(route: string): void {
    const slot = this.slot(route);
    while (!this.stopping && slot.queue.length > 0 && slot.running < slot.queue[0]!.maxConcurrent) {
      const job = slot.queue.shift()!;
      slot.running++;
      void this.run(job).finally(() => {
        slot.running--;
        this.startNext(route);
      });
    }
  }

  private async run(job: Job): Promise<void> {
    const { options, body } = job.pending!;
    job.pending = null;
    job.state = 'running';
    job.started = new Date();
    let script: RunningScript;
    try {
      script = await this.runner.start({
        ...options,
        onStderr: (line) => {
          options.onStderr(line);
          this.append(job, Buffer.from(line + '\n'));
        },
      });
    } catch (err) {
      void body.dispose();
      this.end(job, 'failed', null, null, `job ${job.id} for ${job.route}: cannot start: ${(err as Error).message}`);
      return;
    }
    this.runner.track(script);
    script.stdout.on('data', (chunk: Buffer) => this.append(job, chunk));
    script.stdout.resume();
    if (script.stdin) body.pipeTo(script.stdin, () => {});
    const outcome = await script.exited;
    void body.dispose();
    const state: JobState = outcome.exit === 0 ? 'succeeded' : outcome.signal === 'SIGKILL' && this.stopping ? 'killed' : 'failed';
    const how = outcome.signal ?? `exit ${outcome.exit}`;
    const note = state === 'killed' ? 'killed: the server stopped before it ended' : script.stopReason === 'timeout' ? `${how} (timed out)` : how;
    this.end(job, state, outcome.exit, outcome.signal, `job ${job.id} for ${job.route}: ${note} after ${Math.round(outcome.ms)} ms`);
  }

  private end(job: Job, state: JobState, exitCode: number | null, signal: string | null, message: string): void {
    if (job.pending) void job.pending.body.dispose();
    job.pending = null;
    job.state = state;
    job.exitCode = exitCode;
    job.signal = signal;
    job.finished = new Date();
    this.runner.log(message);
  }

  private append(job: Job, chunk: Buffer): void {
    job.output.push(chunk);
    job.outputBytes += chunk.length;
    while (job.outputBytes - job.output[0]!.length >= JOB_OUTPUT_BYTES) job.outputBytes -= job.output.shift()!.length;
    if (job.outputBytes > JOB_OUTPUT_BYTES) {
      const excess = job.outputBytes - JOB_OUTPUT_BYTES;
      job.output[0] = job.output[0]!.subarray(excess);
      job.outputBytes -= excess;
    }
  }

  /** Forget finished jobs older than JOB_RETENTION_MS, and the oldest beyond MAX_FINISHED. */
  private sweep(): void {
    const now = Date.now();
    let finished = 0;
    for (const job of this.jobs.values()) if (job.finished) finished++;
    // Map iteration is insertion order: the oldest jobs come first.
    for (const [id, job] of this.jobs) {
      if (!job.finished) continue;
      if (now - job.finished.getTime() > JOB_RETENTION_MS || finished > MAX_FINISHED) {
        this.jobs.delete(id);
        finished--;
      }
    }
  }
}
