import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { ScriptOutcome } from '../../log.js';
import { GroupSupervisor, type RunningScript, type RunOptions } from '../supervise.js';

/**
 * Start a script with child_process.spawn: argv array, no shell, the
 * environment given and nothing else, in its own process group (detached) so
 * that a timeout, a vanished client or shutdown can signal the script and
 * every child it forked. The way every script can start, and the fallback of
 * the other two while their helper is down.
 *
 * When the script's main process exits, whatever it left behind in its group
 * is killed too: a background child must not keep stdout open (and the
 * response hanging) or outlive its request. Rejects when the program cannot be
 * started (ENOENT, EACCES): the caller answers 500.
 */
export function spawnScript(options: RunOptions): Promise<RunningScript> {
  const child = spawn(options.argv[0]!, options.argv.slice(1), {
    cwd: options.cwd,
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    windowsHide: true,
  }) as ChildProcessByStdio<Writable, Readable, Readable>;

  return new Promise((resolveStart, rejectStart) => {
    // pid is set when the fork succeeded; otherwise 'error' follows and nothing runs.
    const group = new GroupSupervisor(child.pid ?? 0, options.timeoutMs);
    const exitedPromise = new Promise<ScriptOutcome>((resolveExit) => {
      child.once('exit', (code, signal) => resolveExit(group.finished(code, signal)));
    });
    child.once('error', (err) => {
      group.exited();
      rejectStart(err);
    });
    child.once('spawn', () => {
      if (options.stdin) {
        // The body came with the start: deliver it and close stdin, as the helper does.
        child.stdin.on('error', () => {});
        child.stdin.end(options.stdin);
      }
      const stdio = { stdin: options.stdin ? null : child.stdin, stdout: child.stdout, stderr: child.stderr };
      resolveStart(group.running(stdio, options.onStderr, exitedPromise));
    });
  });
}
