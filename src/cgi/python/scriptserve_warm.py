# The warm child (issue 7): the fork server's job when the helper runs as
# `fork`. It pre-imports modules once, compiles the scripts it is asked to run
# (CodeCache, never executing them), and forks one child per request; the
# child makes itself look like a fresh `python3 script.py` process (CPython's
# start-up and shut-down, emulated step by step below) and runs the script.
# This process never runs request code itself: only the child does.
#
# Replies on `out`: the child writes `pid N\n` once it leads its own session
# (so the server can signal its group), or this process writes
# `error MESSAGE\n` when it could not fork.

import _signal
import builtins
import gc
import os
import stat
import sys
import warnings

from scriptserve_loop import log, send_line

SourceFileLoader = sys.modules['_frozen_importlib_external'].SourceFileLoader
MAIN_KEYS = None  # set by the entry: the keys a fresh interpreter gives __main__, in its order


class Forker:
    """The fork server's launcher (see scriptserve_loop.HelperLoop)."""

    def __init__(self):
        self.code_cache = CodeCache()

    @staticmethod
    def accepts(request):
        return isinstance(request.get('script'), str)

    def launch(self, fds, request, request_id):
        code = self.code_cache.get(request['script'])
        # Blocking again before the fork: O_NONBLOCK belongs to the open file, which the child shares.
        for fd in fds:
            os.set_blocking(fd, True)
        try:
            pid = os.fork()
        except OSError as err:
            send_line(fds[1], 'error cannot fork: %s' % err)
            for fd in fds:
                os.close(fd)
            return None
        if pid == 0:
            run_child(request, code, fds)  # never returns
        # The child's stdio are the child's alone: a script that closes its stdin
        # must make the server's writes fail (EPIPE) as with child_process.
        for fd in fds:
            os.close(fd)
        return pid


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
    os.write(fds[1], b'pid %d\n' % os.getpid())
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
ARG_AREA = None  # set by prepare(): where this process's argv lives, for show_cmdline


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
        if not title or ARG_AREA is None:
            return
        start, end = ARG_AREA
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
    for key in MAIN_KEYS:
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


def prepare(modules):
    """The fork server's own start: ps shows its command line without the
    padding (sys.orig_argv is 3.10+), and the preloads are imported."""
    global ARG_AREA
    ARG_AREA = arg_area()
    show_cmdline(' '.join(sys.orig_argv[:-1]) + '\0', '')
    preload(modules)


def forget_environment():
    """The children set their whole environment from the request: start them from an empty one."""
    set_environ({})


def preload(names):
    import importlib
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException as err:  # a bad name must not stop the server
            log('cannot preload %s: %s' % (name, err))
