// Who the server process is (real and effective user and group, and its
// supplementary groups), and whether that has changed since a helper started.
// Reading it takes five system calls, too many for every script request, so
// it is read again only after one of process's setters has run: a Node
// program changes its user or groups through these and no other way (a
// native module that calls setuid(2) itself is not seen).

const SETTERS = ['setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups'] as const;

/** Bumped by every call of a setter. */
let generation = 0;
let watching = false;

function watchSetters(): void {
  if (watching) return;
  watching = true;
  const target = process as unknown as Record<string, unknown>;
  for (const name of SETTERS) {
    const original = target[name];
    if (typeof original !== 'function') continue; // not on this platform, or in a worker
    target[name] = function (this: unknown, ...args: unknown[]): unknown {
      try {
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      } finally {
        generation++;
      }
    };
  }
}

/** The process's user, groups and supplementary groups, as one comparable string. */
function processIdentity(): string {
  return `${process.getuid?.()}:${process.geteuid?.()}:${process.getgid?.()}:${process.getegid?.()}:${process.getgroups?.().join(',')}`;
}

/** The identity the process had when this was made (a helper's start), and whether it still has it. */
export class IdentityAtStart {
  private readonly identity: string;
  private checkedAt: number;
  private differs = false;

  constructor() {
    watchSetters();
    this.identity = processIdentity();
    this.checkedAt = generation;
  }

  /** Has the process changed its user or groups since? Free unless a setter ran since the last answer. */
  changed(): boolean {
    if (this.checkedAt !== generation) {
      this.checkedAt = generation;
      this.differs = processIdentity() !== this.identity;
    }
    return this.differs;
  }
}
