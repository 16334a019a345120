# The spawn helper's job (issue 6): when the helper runs as `spawn`, each
# request {argv, cwd, env} is a cold run started with posix_spawn, not a
# fork. It forks nothing and imports no preload.
#
# Replies: `spawning\n` on `out` before the child exists (so the server knows
# that whatever follows on `out` is the child's output, and that `out`
# closing before that line means nothing started), then `spawned ID PID` or
# `failed ID WHY` on the control pipe.

import os

from scriptserve_loop import control, log

# The signals the child gets at their default disposition: those
# child_process.spawn resets, so that a script cannot tell the two apart.
# libuv's child (uv__process_child_init) resets 1-31 (SIGKILL and SIGSTOP
# cannot be changed) and leaves the real-time signals as inherited, so a
# real-time signal ignored by the server's parent stays ignored in its
# scripts. 32 and 33 are the C library's own (glibc's SIGCANCEL and
# SIGSETXID): a Node child has them at default after exec, while glibc's
# posix_spawn would leave them ignored unless they are in this set.
DEFAULT_SIGNALS = range(1, 34)


class SpawnLauncher:
    """The spawn helper's launcher (see scriptserve_loop.HelperLoop)."""

    def __init__(self, spawner):
        self.spawner = spawner

    @staticmethod
    def accepts(request):
        return isinstance(request.get('argv'), list)

    def launch(self, fds, request, request_id):
        """A cold run started with posix_spawn (see Spawner). `spawning` goes on
        `out` (fds[1]) before the child exists, so that whatever the child
        writes comes after it; the pid, or why nothing started, comes on the
        control pipe."""
        try:
            for fd in fds:
                os.set_blocking(fd, True)
            try:
                os.write(fds[1], b'spawning\n')
            except OSError:
                return None  # the server sees `out` close before `spawning`: nothing started
            try:
                pid = self.spawner.spawn(request['argv'], request['env'], request['cwd'], fds)
            except Exception as err:  # OSError (the exec failed), or a request it cannot encode
                control(b'failed %s %s' % (request_id, str(err).encode('utf-8', 'replace').replace(b'\n', b' ')))
                return None
            control(b'spawned %s %d' % (request_id, pid))
            return pid
        finally:
            for fd in fds:  # the child's alone from here
                os.close(fd)


class Spawner:
    """posix_spawn through libc itself, for cold runs (issue 6).

    glibc and musl start the child with clone(CLONE_VM|CLONE_VFORK): no page
    table is copied, so this small process starts a program several times
    faster than the server's fork of itself (bench/NOTES.md). The child is
    what child_process.spawn(argv[0], argv.slice(1), {cwd, env, detached})
    makes: its own session; the signals of DEFAULT_SIGNALS at their default
    disposition and none blocked; its three sockets (stdin, stdout, stderr) as fds 0-2, blocking, and no other
    descriptor (all of this process's are close-on-exec).

    Through ctypes, not os.posix_spawn: that one builds its default-signal
    set with sigaddset, which refuses the C library's internal signals (32
    and 33), and the library then leaves those ignored in the child, where an
    ignored disposition survives exec; a set built here bit by bit resets
    them too. It also has the chdir action (glibc 2.29) that Python 3.11
    lacks. Where any of this is missing, make_spawner returns None, the
    helper says `ready -` instead of `ready spawn`, and the server spawns
    every script itself.
    """

    SETSIGDEF, SETSIGMASK, SETSID = 0x04, 0x08, 0x80  # <spawn.h>, the same in glibc and musl
    STRUCT_BYTES = 1024  # room for posix_spawnattr_t (336 bytes in glibc) and the file actions (80)
    SIGSET_BYTES = 128  # sigset_t: 1024 bits in glibc and musl

    def __init__(self):
        import ctypes
        self.ctypes = ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        self.libc = libc
        self.spawn_fn = libc.posix_spawn
        self.adddup2 = libc.posix_spawn_file_actions_adddup2
        self.addchdir = getattr(libc, 'posix_spawn_file_actions_addchdir_np', None)
        self.attr = ctypes.create_string_buffer(self.STRUCT_BYTES)
        bits = ctypes.sizeof(ctypes.c_ulong) * 8
        sigset = ctypes.c_ulong * (self.SIGSET_BYTES // ctypes.sizeof(ctypes.c_ulong))
        self.defaults, self.none = sigset(), sigset()
        for sig in DEFAULT_SIGNALS:
            self.defaults[(sig - 1) // bits] |= 1 << ((sig - 1) % bits)
        for call in (libc.posix_spawnattr_init(self.attr),
                     libc.posix_spawnattr_setsigdefault(self.attr, ctypes.byref(self.defaults)),
                     libc.posix_spawnattr_setsigmask(self.attr, ctypes.byref(self.none)),
                     libc.posix_spawnattr_setflags(self.attr, ctypes.c_short(self.SETSIGDEF | self.SETSIGMASK | self.SETSID))):
            if call != 0:
                raise OSError(call, os.strerror(call))

    def spawn(self, argv, env, cwd, fds):
        ctypes, libc = self.ctypes, self.libc
        args = [encode(a) for a in argv]
        envp = [encode(k) + b'=' + encode(v) for k, v in env.items()]
        cwd = encode(cwd)
        if not args:
            raise ValueError('no program')
        actions = ctypes.create_string_buffer(self.STRUCT_BYTES)
        libc.posix_spawn_file_actions_init(actions)
        try:
            for target, fd in enumerate(fds):
                self.adddup2(actions, fd, target)
            if self.addchdir is not None:
                self.addchdir(actions, cwd)
            else:
                os.chdir(cwd)  # nothing in this process depends on its working directory
            pid = ctypes.c_int()
            err = self.spawn_fn(ctypes.byref(pid), args[0], actions, self.attr,
                                (ctypes.c_char_p * (len(args) + 1))(*args, None),
                                (ctypes.c_char_p * (len(envp) + 1))(*envp, None))
        finally:
            libc.posix_spawn_file_actions_destroy(actions)
        if err != 0:
            raise OSError(err, os.strerror(err))
        return pid.value


def encode(text):
    """A string as Node encodes a spawn's arguments and environment (UTF-8), whatever this locale."""
    if not isinstance(text, str):
        raise TypeError('not a string')
    data = text.encode('utf-8')
    if b'\0' in data:
        raise ValueError('a NUL byte')  # Node refuses these too; C would cut the string short
    return data


def make_spawner():
    try:
        return Spawner()
    except Exception as err:  # no ctypes, no posix_spawn: the server spawns every script itself
        log('cannot spawn scripts (the server will): %s' % (err,))
        return None

