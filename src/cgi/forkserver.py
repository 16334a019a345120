_MAIN_KEYS = list(globals())  # the keys a fresh interpreter gives __main__, in its order (first line on purpose)

# scriptserve's warm-Python fork server (issue 7). Started once by the server
# (src/cgi/warm.ts) with the interpreter, flags, environment allow-list and
# working directory of a cold run; pre-imports modules, then forks one child
# per request. It never runs request code itself: only the child does, after
# it has made itself look like a fresh `python3 script.py` process. It does
# compile the scripts it is asked to run (CodeCache), never executing them.
#
# Protocol, on a Unix socket in a private (0700) directory. Per request the
# server opens three connections, each starting with `ID ROLE\n` (ROLE is in,
# out or err); the `in` one is followed by one JSON line {script, cwd, env,
# cmdline, title, comm, realdir}. The child gets them as fds 0, 1, 2. On `in`, the
# child reports `pid N\n` once it leads its own session (so the server can
# signal its group), or this process reports `error MESSAGE\n` when it could
# not fork. It closes its copies of the three as soon as the child has them
# (a script that closes its stdin must see the server's writes fail, as with
# child_process). After reaping the child, this process reports `exit ID CODE -\n`
# or `exit ID - SIGNAME\n` on the control pipe (its original stdout, moved to
# a private descriptor before anything is preloaded, so that nothing a module
# prints can mix with these lines; fd 1 then goes to stderr, the log), a pipe
# no child holds (a script can write to its stdin, which is `in`, so nothing
# it could forge is read there after the pid line). The
# server writes the body to `in` only after the pid line, so nothing here ever
# reads request bodies. Only the server's own process may connect: any other
# peer (SO_PEERCRED), a script among them, is closed unread, since a child
# inherits this process's memory and with it the ids of requests in flight.
#
# A spawn helper (MODE spawn) takes {argv, cwd, env} instead, and starts that
# program with posix_spawn rather than a fork: it writes `spawning\n` on `in`
# before the child exists (so the server knows that whatever follows on `in`
# is the child writing to its stdin, and that `in` closing before that line
# means nothing started), then `spawned ID PID` or `failed ID WHY` on the
# control pipe. Its `ready` line says `ready spawn` when it can spawn at all.
#
# Usage: python3 [flags] forkserver.py SOCKET_PATH PRELOAD_CSV SERVER_PID MODE PADDING
# MODE is `fork` (the warm fork server) or `spawn` (the spawn helper of cold
# runs, issue 6: see Spawner; it forks nothing and imports no preload).
# PADDING reserves room in the process's argv memory, where each child writes
# the command line of the equivalent cold run (what ps and /proc show).

import _signal
import _socket
import builtins
import gc
import os
import sys
import signal
import socket
import select
import stat
import json
import time
import warnings

MAX_HEADER_BYTES = 1 << 20
CONTROL_FD = None  # set by main(): the control pipe to the server
SourceFileLoader = sys.modules['_frozen_importlib_external'].SourceFileLoader
ROLES = {b'in': 0, b'out': 1, b'err': 2}


def log(message):
    # os.write, never sys.stderr: the stdio objects must stay untouched for the children.
    try:
        os.write(2, ('scriptserve fork server: %s\n' % message).encode('utf-8', 'replace'))
    except OSError:
        pass


class ForkServer:
    """The event loop: plain descriptors and select.poll, no socket objects per request.

    Every fork write-protects this process's memory, so each page the loop
    touches between two forks costs it a copy-on-write fault; the loop
    therefore keeps its per-request work to a few C-level calls.
    """

    def __init__(self, path, server_pid):
        self.path = path
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        self.listener.bind(path)
        self.listener.listen(256)
        self.listener.setblocking(False)
        self.listen_fd = self.listener.fileno()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        # A Python handler (not SIG_IGN, which would reap children before their status is read).
        signal.signal(signal.SIGCHLD, lambda *_: None)
        # A poll object holds no descriptor of its own, so a child has nothing of it to close.
        self.poller = select.poll()
        self.poller.register(self.listen_fd, select.POLLIN)
        self.poller.register(self.wake_r, select.POLLIN)
        # stdin is the server's end of a socketpair: EOF means the server is gone, and so should this be.
        self.poller.register(0, select.POLLIN)
        self.code_cache = CodeCache()
        self.pending = {}   # descriptor -> bytes of its preamble read so far
        self.groups = {}    # request id -> [in, out, err descriptors, request], until all three came
        self.members = {}   # descriptor of an incomplete group -> its request id
        self.accept_paused_until = 0
        self.children = {}  # pid -> its request id
        # The server's process: the only peer let in (struct ucred starts with the pid).
        self.server_pid = server_pid.to_bytes(4, sys.byteorder, signed=True)
        self.probe = _socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0, self.listen_fd)
        self.probe.detach()
        self.ready = []     # complete requests of this poll batch, to fork

    def serve(self):
        try:
            os.write(CONTROL_FD, b'ready spawn\n' if SPAWNER is not None else b'ready\n')
        except OSError:  # the server is already gone; the EOF on stdin below ends this process
            pass
        listen_fd, wake_r = self.listen_fd, self.wake_r
        while True:
            for fd, _ in self.poller.poll(1000):
                if fd in self.members:
                    # Data or a hang-up before its request is complete: the server gave up on it.
                    self.abandon(self.members[fd])
                elif fd == listen_fd:
                    self.accept()
                elif fd == wake_r:
                    self.drain_wakeups()
                elif fd == 0:
                    if not read_or_eof(0):
                        self.remove_socket()
                        return
                elif fd in self.pending:
                    self.read_preamble(fd)
                # Anything else is a stale event of this batch: a descriptor an earlier event closed.
            # Each fork write-protects this process's memory again, so the forks of
            # a batch run back to back: the loop's bookkeeping between them is paid once.
            if self.ready:
                for group, request_id in self.ready:
                    self.launch(group, request_id)
                self.ready.clear()
            self.reap()
            if self.accept_paused_until and time.monotonic() >= self.accept_paused_until:
                self.accept_paused_until = 0
                self.poller.register(listen_fd, select.POLLIN)

    def remove_socket(self):
        """The server died without closing us (SIGKILL): remove its socket directory for it."""
        try:
            os.unlink(self.path)
            os.rmdir(os.path.dirname(self.path))
        except OSError:
            pass

    def accept(self):
        while True:
            try:
                fd, _ = self.listener._accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                # Out of descriptors (EMFILE): stop polling the listener for a second
                # rather than spin on it; connections wait in the backlog meanwhile.
                log('accept: %s' % err)
                self.poller.unregister(self.listen_fd)
                self.accept_paused_until = time.monotonic() + 1
                return
            if not self.from_server(fd):
                os.close(fd)
                continue
            os.set_blocking(fd, False)
            self.pending[fd] = b''
            self.poller.register(fd, select.POLLIN)

    def from_server(self, fd):
        # One C-level socket object, made at start and pointed at each new
        # descriptor in turn: no object is made per connection (each costs
        # this process copy-on-write faults after every fork).
        probe = self.probe
        _socket.socket.__init__(probe, socket.AF_UNIX, socket.SOCK_STREAM, 0, fd)
        try:
            return probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12).startswith(self.server_pid)
        except OSError:
            return False
        finally:
            probe.detach()

    def drop(self, fd):
        self.pending.pop(fd, None)
        try:
            self.poller.unregister(fd)
        except (KeyError, ValueError):
            pass
        os.close(fd)

    def read_preamble(self, fd):
        try:
            data = os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''
        if not data:
            return self.drop(fd)
        buf = self.pending[fd] + data
        if len(buf) > MAX_HEADER_BYTES:
            return self.drop(fd)
        nl = buf.find(b'\n')
        if nl < 0:
            self.pending[fd] = buf
            return
        parts = buf[:nl].split(b' ')
        role = ROLES.get(parts[1]) if len(parts) == 2 and parts[0] else None
        if role is None:
            return self.drop(fd)
        request = None
        if role == 0:
            end = buf.find(b'\n', nl + 1)
            if end < 0:
                self.pending[fd] = buf
                return
            try:
                request = json.loads(buf[nl + 1:end])
            except (ValueError, RecursionError):
                return self.drop(fd)
            # A fork server forks (warm Python), a spawn helper spawns: nothing else is accepted.
            if not isinstance(request, dict) or not (
                isinstance(request.get('argv'), list) if SPAWNER is not None else isinstance(request.get('script'), str)
            ):
                return self.drop(fd)
        del self.pending[fd]
        group = self.groups.get(parts[0])
        if group is None:
            group = self.groups[parts[0]] = [None, None, None, None]
        if group[role] is not None:
            return self.drop(fd)
        group[role] = fd
        if request is not None:
            group[3] = request
        if group[0] is not None and group[1] is not None and group[2] is not None:
            del self.groups[parts[0]]
            for member in group[:3]:
                self.members.pop(member, None)
                if member != fd:
                    self.poller.unregister(member)
            self.poller.unregister(fd)
            # Forked after this poll batch, together with any others that completed in it.
            self.ready.append((group, parts[0]))
        else:
            # Stays polled: a hang-up before the group is complete frees the whole group.
            self.members[fd] = parts[0]

    def abandon(self, request_id):
        group = self.groups.pop(request_id, None)
        for fd in group[:3] if group else ():
            if fd is not None:
                self.members.pop(fd, None)
                self.poller.unregister(fd)
                os.close(fd)

    def launch(self, group, request_id):
        fds = group[:3]
        request = group[3]
        if 'argv' in request:
            return self.spawn(fds, request, request_id)
        code = self.code_cache.get(request['script'])
        # Blocking again before the fork: O_NONBLOCK belongs to the open file, which the child shares.
        for fd in fds:
            os.set_blocking(fd, True)
        try:
            pid = os.fork()
        except OSError as err:
            send_line(fds[0], 'error cannot fork: %s' % err)
            for fd in fds:
                os.close(fd)
            return
        if pid == 0:
            run_child(request, code, fds)  # never returns
        # The child's stdio are the child's alone: a script that closes its stdin
        # must make the server's writes fail (EPIPE) as with child_process.
        for fd in fds:
            os.close(fd)
        self.children[pid] = request_id

    def spawn(self, fds, request, request_id):
        """A cold run started with posix_spawn (see Spawner). `spawning` goes on
        `in` before the child exists, so that whatever the child writes to its
        stdin comes after it; the pid, or why nothing started, comes on the
        control pipe."""
        try:
            for fd in fds:
                os.set_blocking(fd, True)
            try:
                os.write(fds[0], b'spawning\n')
            except OSError:
                return  # the server sees `in` close before `spawning`: nothing started
            try:
                pid = SPAWNER.spawn(request['argv'], request['env'], request['cwd'], fds)
            except Exception as err:  # OSError (the exec failed), or a request it cannot encode
                control(b'failed %s %s' % (request_id, str(err).encode('utf-8', 'replace').replace(b'\n', b' ')))
                return
            control(b'spawned %s %d' % (request_id, pid))
            self.children[pid] = request_id
        finally:
            for fd in fds:  # the child's alone from here (see launch)
                os.close(fd)

    def drain_wakeups(self):
        try:
            while os.read(self.wake_r, 4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def reap(self):
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            except InterruptedError:
                continue
            if pid == 0:
                return
            request_id = self.children.pop(pid, None)
            if request_id is None:
                continue
            if os.WIFSIGNALED(status):
                report = b'- %s' % signal_name(os.WTERMSIG(status)).encode()
            else:
                report = b'%d -' % os.WEXITSTATUS(status)
            control(b'exit %s %s' % (request_id, report))


class CodeCache:
    """Bytecode of the scripts, compiled here once per version of their bytes.

    Compiling is most of what a child would otherwise do before the script
    runs (the compiler touches hundreds of shared pages, each a copy-on-write
    fault). This process reads the script's file on every request and reuses
    the code only when the bytes are exactly those it compiled, so an edit is
    seen at once, as in a cold run. It compiles, it never executes. A script
    that fails to compile, or whose compilation warns, is left to the child,
    which then compiles it and reports exactly as a cold interpreter would.
    """

    MAX_SCRIPT_BYTES = 256 * 1024
    MAX_ENTRIES = 256

    def __init__(self):
        self.entries = {}  # path -> (source bytes, code, or None when the child must compile it)

    def get(self, path):
        try:
            source = read_file(path, self.MAX_SCRIPT_BYTES)
        except (OSError, ValueError):
            return None
        if source is None:
            return None  # too large to keep, not a regular file, or changing under us: the child reads it itself
        entry = self.entries.get(path)
        if entry is not None and entry[0] == source:
            return entry[1]
        # None (it fails or warns) is remembered too, so such a script is compiled once per version here.
        code = compile_quietly(source, path)
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries.clear()
        self.entries[path] = (source, code)
        # Out of the collector's reach, like the preloads (a child's collections must not touch it).
        gc.freeze()
        return code


def compile_quietly(source, path):
    """compile() as the child would, or None when it fails or emits any warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            code = compile(source, path, 'exec', dont_inherit=True)  # as run_script's own call
        except Exception:  # SyntaxError, ValueError (NUL bytes), RecursionError, MemoryError
            return None
    return None if caught else code


def control(line):
    """One line to the server on the control pipe."""
    try:
        os.write(CONTROL_FD, line + b'\n')
    except OSError:
        pass  # the server is gone; the EOF on stdin ends this process


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return 'SIG%d' % number


def read_or_eof(fd):
    """Bytes from fd; b'' at EOF or on an error that means the same (ECONNRESET)."""
    try:
        return os.read(fd, 512)
    except (BlockingIOError, InterruptedError):
        return b'-'
    except OSError:
        return b''


def send_line(fd, line):
    # MSG_DONTWAIT, not O_NONBLOCK: the socket's open file is shared with a child's stdin.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0, fd)
    try:
        sock.send((line + '\n').encode('utf-8', 'replace'), socket.MSG_DONTWAIT)
    except OSError:
        pass
    finally:
        sock.detach()


# ---------------------------------------------------------------- spawning


class Spawner:
    """posix_spawn through libc itself, for cold runs (issue 6).

    glibc and musl start the child with clone(CLONE_VM|CLONE_VFORK): no page
    table is copied, so this small process starts a program several times
    faster than the server's fork of itself (bench/NOTES.md). The child is
    what child_process.spawn(argv[0], argv.slice(1), {cwd, env, detached})
    makes: its own session; every signal at its default disposition and none
    blocked; the three connections as fds 0-2, blocking, and no other
    descriptor (all of this process's are close-on-exec).

    Through ctypes, not os.posix_spawn: that one builds its default-signal
    set with sigaddset, which refuses the C library's internal signals (32
    and 33), and the library then leaves those ignored in the child, where an
    ignored disposition survives exec; a set built here bit by bit resets
    them too. It also has the chdir action (glibc 2.29) that Python 3.11
    lacks. Where any of this is missing, make_spawner returns None, the
    helper never says `ready spawn`, and the server spawns every script itself.
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
        self.every, self.none = sigset(), sigset()
        for sig in range(1, 65):
            self.every[(sig - 1) // bits] |= 1 << ((sig - 1) % bits)
        for call in (libc.posix_spawnattr_init(self.attr),
                     libc.posix_spawnattr_setsigdefault(self.attr, ctypes.byref(self.every)),
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


SPAWNER = None  # set by main()


# ---------------------------------------------------------------- the child


def run_child(request, compiled, fds):
    code = 70
    try:
        become_fresh_process(request, fds)
        code = run_script(request['script'], compiled)
    except BaseException as err:  # a failure of ours, before the script ran
        try:
            log('child setup failed: %r' % (err,))
        finally:
            os._exit(code)
    os._exit(code)


def become_fresh_process(request, fds):
    # Every step uses C-level calls where it can: each Python object a child
    # touches costs a copy-on-write page fault (3 µs on these machines), so
    # the cheapest set-up is the one that touches the fewest objects.
    # A cold script is spawned detached: its own session and process group.
    os.setsid()
    os.write(fds[0], b'pid %d\n' % os.getpid())
    # Signal dispositions of a fresh interpreter: SIGCHLD default, no wakeup fd;
    # SIGINT raises KeyboardInterrupt; SIGPIPE and SIGXFSZ stay ignored (CPython sets both).
    _signal.set_wakeup_fd(-1)
    _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
    _signal.signal(_signal.SIGINT, _signal.default_int_handler)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    # The only socket object, the listener, stays reachable from the frames of
    # this call stack, which never returns (the child leaves through os._exit):
    # it is never finalized, so it can never close a descriptor number that the
    # script reuses after this.
    os.closerange(3, MAX_FD)
    show_cmdline(request.get('title') or '', request.get('comm') or '', padded=True)
    os.chdir(request['cwd'])
    set_environ(request['env'])
    script = request['script']
    sys.argv[:] = [script]
    if request.get('cmdline'):
        sys.orig_argv[:] = request['cmdline']
    if not getattr(sys.flags, 'safe_path', False):
        # The server sends the script's directory when no symlink leads to it
        # (then it is what realpath would give); else resolve it as CPython does.
        sys.path[0] = request.get('realdir') or os.path.dirname(os.path.realpath(script))


def set_environ(env):
    """os.environ and the C environ become exactly `env`, as os.environ.clear() and update() would do."""
    data = os.environ._data  # shared with os.environb
    for key in data:
        os.unsetenv(key)
    data.clear()
    for key, value in env.items():
        key = key.encode(FS_ENCODING, 'surrogateescape')
        value = value.encode(FS_ENCODING, 'surrogateescape')
        os.putenv(key, value)
        data[key] = value


MAX_FD = os.sysconf('SC_OPEN_MAX') if hasattr(os, 'sysconf') else 65536
FS_ENCODING = sys.getfilesystemencoding()
_ARG_AREA = None


def show_cmdline(title, comm, padded=False):
    """Make ps and /proc/PID/cmdline show the cold run's command line (best effort).

    `title` is that command line joined by spaces and NUL-terminated. By
    setproctitle's convention, a non-NUL last byte of the argv area tells the
    kernel to show the title alone (proc(5)), so ps, pgrep -f and psutil see
    the cold command line without padding. The fork server pads its own area
    once at start (`padded` false); a child inherits that last byte and writes
    only its title. This runs in every child, where each Python object made
    costs copy-on-write faults: the server sends the title ready to write, and
    the kernel cuts comm to 15 bytes itself.
    """
    try:
        if comm:
            fd = os.open('/proc/self/comm', os.O_WRONLY)
            try:
                os.write(fd, comm.encode(FS_ENCODING, 'surrogateescape'))
            finally:
                os.close(fd)
        if not title or _ARG_AREA is None:
            return
        start, end = _ARG_AREA
        room = end - start
        data = title.encode(FS_ENCODING, 'surrogateescape')
        if len(data) > room - 1:
            data = data[:room - 2] + b'\0'
        if not padded:
            data += b'.' * (room - len(data))
        fd = os.open('/proc/self/mem', os.O_RDWR)
        try:
            os.pwrite(fd, data, start)
        finally:
            os.close(fd)
    except OSError:
        pass


def arg_area():
    try:
        with open('/proc/self/stat', 'rb') as f:
            fields = f.read().rsplit(b')', 1)[1].split()
        # Fields 48 and 49 of proc(5) (arg_start, arg_end); `fields` starts at field 3.
        return int(fields[45]), int(fields[46])
    except (OSError, IndexError, ValueError):
        return None


def fresh_main(script):
    values = {
        '__name__': '__main__', '__doc__': None, '__package__': None,
        '__loader__': SourceFileLoader('__main__', script), '__spec__': None,
        '__annotations__': {}, '__builtins__': builtins, '__file__': script, '__cached__': None,
    }
    module = type(sys)('__main__')
    namespace = module.__dict__
    namespace.clear()
    for key in _MAIN_KEYS:
        if key in values:
            namespace[key] = values[key]
    namespace.setdefault('__file__', script)
    namespace.setdefault('__cached__', None)
    sys.modules['__main__'] = module
    return namespace


def run_script(script, code=None):
    """Run the script as `python3 script.py` would; returns the exit status.
    `code` is the fork server's compilation of the script's current bytes, if it has one."""
    namespace = fresh_main(script)
    interrupted = False
    if code is None:
        try:
            source = read_file(script)
        except OSError as err:
            os.write(2, ("%s: can't open file %r: [Errno %d] %s\n" % (sys.orig_argv[0], script, err.errno, err.strerror)).encode())
            return 2
    try:
        if code is None:
            # Called here, not through a helper: a SyntaxError's traceback must have no frame of ours.
            code = compile(source, script, 'exec', dont_inherit=True)
            del source
        exec(code, namespace)
        status = 0
    except SystemExit as exc:
        status = system_exit_status(exc)
    except BaseException as exc:
        print_uncaught(exc)
        interrupted = isinstance(exc, KeyboardInterrupt)
        status = 1
    status = finalize(status)
    if interrupted:
        # CPython exits through SIGINT after an unhandled KeyboardInterrupt (bpo-1054041).
        _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
        os.kill(os.getpid(), _signal.SIGINT)
        status = 130
    return status


def read_file(path, limit=None):
    """A file's bytes. With a limit: None unless it is a regular file of at most
    `limit` bytes that reads whole to the size fstat gave (and O_NONBLOCK, so
    that a FIFO put in the script's place cannot block this process on open)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | (0 if limit is None else os.O_NONBLOCK))
    try:
        if limit is not None:
            size = os.fstat(fd)
            if not stat.S_ISREG(size.st_mode) or size.st_size > limit:
                return None
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    source = b''.join(chunks)
    if limit is not None and len(source) != size.st_size:
        return None
    return source


def system_exit_status(exc):
    """_Py_HandleSystemExit: None is 0, an int is the status, anything else is printed and 1."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if -(1 << 63) <= code < (1 << 63) else 0xFF
    try:
        if sys.stderr is not None:
            sys.stderr.write(str(code))
            sys.stderr.write('\n')
    except Exception:
        pass
    return 1


def print_uncaught(exc):
    # The traceback starts at the script's frame, as in a cold run: drop this module's frame.
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    exc.__traceback__ = tb
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = exc
    try:
        sys.excepthook(type(exc), exc, tb)
    except BaseException:
        pass


def finalize(status):
    """Py_FinalizeEx's visible steps: join threads, atexit handlers, flush stdio (120 if stdout fails)."""
    threading = sys.modules.get('threading')
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException:
            pass
    # Only the atexit module registers Python exit handlers: not imported, none registered.
    atexit = sys.modules.get('atexit')
    if atexit is not None:
        atexit._run_exitfuncs()
    ok = True
    for name in ('stdout', 'stderr'):
        stream = getattr(sys, name, None)
        if stream is None or getattr(stream, 'closed', False):
            continue
        try:
            stream.flush()
        except BaseException as err:
            ok = False
            if name == 'stdout':
                try:
                    sys.unraisablehook(type('UnraisableHookArgs', (), {
                        'exc_type': type(err), 'exc_value': err, 'exc_traceback': err.__traceback__,
                        'err_msg': 'Exception ignored in', 'object': stream})())
                except BaseException:
                    pass
    return status if ok else 120


def preload(names):
    import importlib
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException as err:  # a bad name must not stop the server
            log('cannot preload %s: %s' % (name, err))


def main():
    global _ARG_AREA, CONTROL_FD, SPAWNER
    # The control pipe moves to a private descriptor (not inherited: each child
    # closes 3 and up); fd 1 becomes stderr, so what a preloaded module or a
    # thread of it prints reaches the log, never the control lines.
    CONTROL_FD = os.dup(1)
    os.dup2(2, 1)
    _ARG_AREA = arg_area()
    path, modules, server_pid, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if mode == 'fork':  # (sys.orig_argv is 3.10+; a spawn helper runs on any python3 with ctypes)
        show_cmdline(' '.join(sys.orig_argv[:-1]) + '\0', '')  # ps shows the fork server without its padding
    preload([m for m in modules.split(',') if m])
    if mode == 'spawn':
        SPAWNER = make_spawner()
    sys.stdout.flush()
    sys.stderr.flush()
    # The children set their whole environment from the request: start them from an empty one.
    set_environ({})
    server = ForkServer(path, server_pid)
    # Move everything imported so far out of the collector's reach, so that a
    # child's collections do not touch (and copy-on-write) the shared pages.
    gc.collect()
    gc.freeze()
    try:
        server.serve()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
