_MAIN_KEYS = list(globals())  # the keys a fresh interpreter gives __main__, in its order (first line on purpose)

# scriptserve's helper process, started by the server (src/cgi/start/) with
# the interpreter, flags, environment allow-list and working directory of a
# cold run. One program, two jobs, each in a module of its own:
#   fork   the warm fork server (issue 7, scriptserve_warm.py)
#   spawn  the spawn helper of cold runs (issue 6, scriptserve_spawn.py)
# and the event loop and protocol both share (scriptserve_loop.py).
#
# Usage: python3 [flags] scriptserve_helper.py SOCKET_PATH PRELOAD_CSV SERVER_PID JOB PADDING
# PADDING reserves room in the process's argv memory, where each warm child
# writes the command line of the equivalent cold run (what ps and /proc show).

import gc
import os
import sys

MODULES = ('scriptserve_loop', 'scriptserve_warm', 'scriptserve_spawn')


def import_modules():
    """This file's sibling modules, which then leave sys.modules.

    The spawn helper runs with -I (and a warm interpreter may have -P), which
    leave this directory out of sys.path: it is put first for these imports
    only. A warm child inherits sys.modules and must look like a fresh
    interpreter, where `import scriptserve_loop` would find a script's own
    module or none, so the names go; the objects stay referenced here. No
    bytecode is written next to them (one cache per Python version tested).
    """
    saved_path, saved_flag = sys.path[:], sys.dont_write_bytecode
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.dont_write_bytecode = True
    try:
        import scriptserve_loop
        import scriptserve_spawn
        import scriptserve_warm
    finally:
        sys.path[:] = saved_path
        sys.dont_write_bytecode = saved_flag
        for name in MODULES:
            sys.modules.pop(name, None)
    return scriptserve_loop, scriptserve_warm, scriptserve_spawn


loop, warm, spawn = import_modules()


def launcher_for(job, modules):
    """The job's launcher, after its start-up; None when the job cannot run here."""
    if job == 'fork':
        warm.MAIN_KEYS = _MAIN_KEYS
        warm.prepare([m for m in modules.split(',') if m])
        return warm.Forker()
    spawner = spawn.make_spawner()
    return spawn.SpawnLauncher(spawner) if spawner is not None else None


def main():
    # The control pipe moves to a private descriptor (not inherited: each child
    # closes 3 and up); fd 1 becomes stderr, so what a preloaded module or a
    # thread of it prints reaches the log, never the control lines.
    loop.CONTROL_FD = os.dup(1)
    os.dup2(2, 1)
    path, modules, server_pid, job = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    loop.LOG_PREFIX = 'scriptserve fork server' if job == 'fork' else 'scriptserve spawn helper'
    launcher = launcher_for(job, modules)
    sys.stdout.flush()
    sys.stderr.flush()
    if launcher is None:
        loop.control(loop.ready_line('-'))  # the server spawns every script itself, and closes this process
        return
    if job == 'fork':
        warm.forget_environment()
    server = loop.HelperLoop(path, server_pid, launcher)
    # Move everything imported so far out of the collector's reach, so that a
    # child's collections do not touch (and copy-on-write) the shared pages.
    gc.collect()
    gc.freeze()
    try:
        server.serve(job)
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
