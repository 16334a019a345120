# The helper's event loop and protocol, shared by its two jobs: the warm fork
# server (scriptserve_warm.py) and the spawn helper (scriptserve_spawn.py).
# Loaded by scriptserve_helper.py, which also describes the command line.
#
# Protocol, on a Unix socket in a private (0700) directory. Per request the
# server opens one connection, `ID out\n`, followed by one JSON line, the
# request (what it holds is the launcher's business: {script, ...} to fork,
# {argv, cwd, env} to spawn, and for both `stdin`), then the request body
# when `stdin` is its length in bytes: a body the server already holds whole
# (the common case: a form, a webhook, an API call) travels with the request.
# When `stdin` is null the server opens a second connection, `ID in\n`, and
# streams the body on it after the launcher's reply. The child gets: fd 0 the
# `in` connection, or a socket pair this process fills with the body and
# closes; fd 1 the `out` connection; fd 2 a socket pair whose other end this
# process reads and forwards on the control pipe, `err ID N\n` and N bytes,
# then `errend ID\n` at its end (at most STDERR_FORWARD_BYTES of it: the
# server logs no more than that of a run, so the rest is read and dropped
# here). Every child thus holds sockets as its stdio, as child_process gives.
# The launcher's reply is the first line on `out`, before anything the child
# writes (see each launcher); this process closes its copies of the child's
# descriptors as soon as the child has them (a script that closes its stdin
# must see the server's writes fail, as with child_process). After reaping
# the child, and after forwarding what its stderr still held, it reports
# `exit ID CODE -\n` or `exit ID - SIGNAME\n` on the control pipe (its
# original stdout, moved to a private descriptor before anything is
# preloaded, so that nothing a module prints can mix with these lines; fd 1
# then goes to stderr, the log), a pipe no child holds. The server writes a
# streamed body to `in` only after the launcher's reply, so nothing here ever
# reads request bodies but those sent whole with their request. A request
# whose connection closes before its reply (the server gave up waiting,
# handshake.ts START_REPLY_TIMEOUT_MS) starts nothing. Only the
# server's own process may connect: any other peer (SO_PEERCRED), a script
# among them, is closed unread, since a forked child inherits this process's
# memory and with it the ids of requests in flight.
#
# The end of stdin (the server closed this process, or died) stops it: no
# more requests, but it lives on until its last child is reaped, since it
# holds the children's stdin and stderr (see stop_serving).
#
# The first line on the control pipe is `ready JOB IMPLEMENTATION VERSION`
# (JOB is fork, spawn, or - when the job cannot run here), so that the
# server can refuse an interpreter its tests have not covered.

import _socket
import json
import os
import select
import signal
import socket
import sys
import time

MAX_HEADER_BYTES = 1 << 20
ROLES = {b'in': 0, b'out': 1}
# What the server logs of one run's stderr (supervise.ts MAX_STDERR_LOG_BYTES):
# one byte more is forwarded, so that it knows the rest was cut.
STDERR_FORWARD_BYTES = 64 * 1024 + 1
# What a reaped child's stderr is read for at most before its `exit` goes out:
# far more than a socket pair holds (what the child wrote before it exited),
# never an endless read of a process it left behind still writing to it.
REAP_STDERR_BYTES = 1 << 20
CONTROL_FD = None  # set by the entry: the control pipe to the server
LOG_PREFIX = 'scriptserve helper'  # set by the entry: what the log calls this process


def log(message):
    # os.write, never sys.stderr: the stdio objects must stay untouched for the children.
    try:
        os.write(2, ('%s: %s\n' % (LOG_PREFIX, message)).encode('utf-8', 'replace'))
    except OSError:
        pass


def control(line):
    """One message to the server on the control pipe, whole (a signal can cut a large write short)."""
    data = memoryview(line + b'\n')
    try:
        while data:
            data = data[os.write(CONTROL_FD, data):]
    except OSError:
        pass  # the server is gone; the EOF on stdin stops this process (see stop_serving)


def ready_line(job):
    """`ready JOB IMPLEMENTATION VERSION`, the first line the server reads."""
    return ('ready %s %s %d.%d.%d' % ((job, sys.implementation.name) + tuple(sys.version_info[:3]))).encode()


class HelperLoop:
    """The event loop: plain descriptors and select.poll, no socket objects per request.

    Every fork write-protects this process's memory, so each page the loop
    touches between two forks costs it a copy-on-write fault; the loop
    therefore keeps its per-request work to a few C-level calls. `launcher`
    starts one child per complete request (see scriptserve_warm.Forker and
    scriptserve_spawn.SpawnLauncher): accepts(request) says whether a
    request is one of its kind, launch(fds, request, request_id) returns the
    child's pid or None, leaving the three descriptors to the child.
    """

    def __init__(self, path, server_pid, launcher):
        self.path = path
        self.launcher = launcher
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
        self.pending = {}   # descriptor -> bytes of its preamble read so far
        self.groups = {}    # request id -> [in, out, request, body], until its connections came
        self.members = {}   # descriptor of an incomplete group -> its request id
        self.feeding = {}   # this process's end of a child's stdin -> the body bytes still to write
        self.draining = set()  # those ends once written and shut: open until the script closes its own
        self.stderrs = {}   # this process's end of a child's stderr -> [request id, bytes forwarded]
        self.stderr_of = {} # request id -> that end, until its EOF
        self.accept_paused_until = 0
        self.children = {}  # pid -> its request id
        # The server's process: the only peer let in (struct ucred starts with the pid).
        self.server_pid = server_pid.to_bytes(4, sys.byteorder, signed=True)
        self.probe = _socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0, self.listen_fd)
        self.probe.detach()
        self.ready = []     # complete requests of this poll batch, to launch
        self.stopped = False  # the server closed us: serve no more, end with the last child

    def serve(self, job):
        control(ready_line(job))
        listen_fd, wake_r, hang_up = self.listen_fd, self.wake_r, select.POLLHUP
        while True:
            for fd, events in self.poller.poll(1000):
                if fd in self.members:
                    # Data or a hang-up before its request is complete: the server gave up on it.
                    self.abandon(self.members[fd])
                elif fd == listen_fd:
                    self.accept()
                elif fd == wake_r:
                    self.drain_wakeups()
                elif fd == 0:
                    if not read_or_eof(0):
                        self.stop_serving()
                elif fd in self.stderrs:
                    self.forward_stderr(fd)
                elif fd in self.draining:
                    self.drain(fd)
                elif fd in self.feeding:
                    self.feed(fd)
                elif fd in self.pending:
                    if events & hang_up:
                        # Closed before its reply: the server gave up waiting for it (or is gone), and
                        # a child started now would run with nobody to time it out. Nothing starts.
                        self.drop(fd)
                    else:
                        self.read_preamble(fd)
                # Anything else is a stale event of this batch: a descriptor an earlier event closed.
            # Each fork write-protects this process's memory again, so the forks of
            # a batch run back to back: the loop's bookkeeping between them is paid once.
            if self.ready:
                for group, request_id in self.ready:
                    self.launch(group, request_id)
                self.ready.clear()
            self.reap()
            if self.stopped and not self.children:
                return
            if self.accept_paused_until and time.monotonic() >= self.accept_paused_until:
                self.accept_paused_until = 0
                self.poller.register(listen_fd, select.POLLIN)

    def stop_serving(self):
        """The server closed this process (or died): no more requests, but the
        children running go on with their stdin and stderr held here, forwarded
        while anyone reads; this process ends once the last of them is reaped.
        (Ending now would make a script's next write to stderr its death, SIGPIPE.)"""
        self.stopped = True
        self.poller.unregister(0)
        if not self.accept_paused_until:
            self.poller.unregister(self.listen_fd)
        self.accept_paused_until = 0
        self.listener.close()
        for request_id in list(self.groups):
            self.abandon(request_id)
        for fd in list(self.pending):
            self.drop(fd)
        # A server that died without closing us (SIGKILL): remove its socket directory for it.
        try:
            os.unlink(self.path)
            os.rmdir(os.path.dirname(self.path))
        except OSError:
            pass

    def accept(self):
        while not self.stopped:  # else a stale event of the batch that stopped it
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
        data = read_some(fd)
        if data is None:
            return
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
        request = body = None
        if role == 1:
            end = buf.find(b'\n', nl + 1)
            if end < 0:
                self.pending[fd] = buf
                return
            try:
                request = json.loads(buf[nl + 1:end])
            except (ValueError, RecursionError):
                return self.drop(fd)
            # A fork server forks (warm Python), a spawn helper spawns: nothing else is accepted.
            if not isinstance(request, dict) or not self.launcher.accepts(request):
                return self.drop(fd)
            size = request.get('stdin')
            if size is not None:
                if type(size) is not int or size < 0 or size > MAX_HEADER_BYTES:
                    return self.drop(fd)
                if len(buf) - end - 1 < size:
                    self.pending[fd] = buf
                    return
                if len(buf) - end - 1 > size:
                    return self.drop(fd)  # nothing may follow the body before the reply
                body = buf[end + 1:]
        elif len(buf) > nl + 1:
            return self.drop(fd)  # the body on `in` comes only after the reply
        del self.pending[fd]
        group = self.groups.get(parts[0])
        if group is None:
            group = self.groups[parts[0]] = [None, None, None, None]
        if group[role] is not None:
            return self.drop(fd)
        group[role] = fd
        if request is not None:
            group[2], group[3] = request, body
        if group[1] is not None and (group[0] is not None or group[3] is not None):
            del self.groups[parts[0]]
            for member in group[:2]:
                if member is not None:
                    self.members.pop(member, None)
                    if member != fd:
                        self.poller.unregister(member)
            self.poller.unregister(fd)
            # Launched after this poll batch, together with any others that completed in it.
            self.ready.append((group, parts[0]))
        else:
            # Stays polled: a hang-up before the group is complete frees the whole group.
            self.members[fd] = parts[0]

    def abandon(self, request_id):
        group = self.groups.pop(request_id, None)
        for fd in group[:2] if group else ():
            if fd is not None:
                self.members.pop(fd, None)
                self.poller.unregister(fd)
                os.close(fd)

    def launch(self, group, request_id):
        """Make the child's stdin and stderr, and have the launcher start it."""
        stdin, out, request, body = group
        inline = stdin is None  # the body came with the request: this process feeds it
        try:
            err_mine, err_child = socket_pair()
        except OSError as err:
            return self.cannot_launch(group, err)
        if inline:
            try:
                body_mine, stdin = socket_pair()
            except OSError as err:
                os.close(err_mine)
                os.close(err_child)
                return self.cannot_launch(group, err)
        pid = self.launcher.launch((stdin, out, err_child), request, request_id)  # closes all three
        if pid is None:
            os.close(err_mine)
            if inline:
                os.close(body_mine)
            return
        self.children[pid] = request_id
        self.stderrs[err_mine] = [request_id, 0]
        self.stderr_of[request_id] = err_mine
        self.poller.register(err_mine, select.POLLIN)
        if inline:
            self.feeding[body_mine] = body
            self.feed(body_mine)

    def cannot_launch(self, group, err):
        """No child for this request (out of descriptors: EMFILE): its connections close
        before any reply, which tells the server that nothing started (it runs the script itself)."""
        log('cannot start a child: %s' % err)
        for fd in group[:2]:
            if fd is not None:
                os.close(fd)

    def feed(self, fd):
        """Write what is left of a body to a child's stdin, then shut it for writing (the script reads its end).

        The end stays open, what the script writes to its stdin read and
        dropped, until the script closes it: as with child_process, whose
        end is open until the child exits, a script may write to its stdin.
        """
        data = self.feeding[fd]
        try:
            written = os.write(fd, data) if data else 0
        except (BlockingIOError, InterruptedError):
            written = 0
        except OSError:
            written = len(data)  # EPIPE: the script closed its stdin, as child_process would find
        if written < len(data):
            self.feeding[fd] = data[written:]
            self.poller.register(fd, select.POLLOUT)  # again when it has room
            return
        del self.feeding[fd]
        probe = self.probe
        _socket.socket.__init__(probe, socket.AF_UNIX, socket.SOCK_STREAM, 0, fd)
        try:
            probe.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            probe.detach()
        self.draining.add(fd)
        self.poller.register(fd, select.POLLIN)

    def drain(self, fd):
        """Drop what a script wrote to its stdin; close this end once the script has closed its own."""
        if read_or_eof(fd):
            return
        self.draining.discard(fd)
        self.poller.unregister(fd)
        os.close(fd)

    def forward_stderr(self, fd, reaped=False):
        """Forward what a child's stderr holds (its first STDERR_FORWARD_BYTES), and `errend` at its end.
        One read; once the child is `reaped`, reads until none is left (at most REAP_STDERR_BYTES)."""
        entry = self.stderrs[fd]
        request_id = entry[0]
        budget = REAP_STDERR_BYTES if reaped else 0
        while True:
            data = read_some(fd)
            if data is None:
                return
            if not data:
                del self.stderrs[fd]
                del self.stderr_of[request_id]
                self.poller.unregister(fd)
                os.close(fd)
                control(b'errend %s' % request_id)
                return
            room = STDERR_FORWARD_BYTES - entry[1]
            if room > 0:
                piece = data[:room]
                entry[1] += len(piece)
                control(b'err %s %d\n%s' % (request_id, len(piece), piece))
            budget -= len(data)
            if budget <= 0:
                return

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
            # What its stderr still holds goes first, and its end when nothing else holds it.
            err = self.stderr_of.get(request_id)
            if err is not None:
                self.forward_stderr(err, reaped=True)
            if os.WIFSIGNALED(status):
                report = b'- %s' % signal_name(os.WTERMSIG(status)).encode()
            else:
                report = b'%d -' % os.WEXITSTATUS(status)
            control(b'exit %s %s' % (request_id, report))


def signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return 'SIG%d' % number


def read_some(fd):
    """Bytes from fd; None when there are none yet; b'' at EOF or on an error that means the same (ECONNRESET)."""
    try:
        return os.read(fd, 65536)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return b''


def read_or_eof(fd):
    """Bytes from fd, or b'-' when there are none yet; b'' at EOF."""
    data = read_some(fd)
    return b'-' if data is None else data


def socket_pair():
    """Two connected descriptors (AF_UNIX stream, close-on-exec), this process's end first and non-blocking."""
    mine, theirs = _socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    mine.setblocking(False)
    return mine.detach(), theirs.detach()


def send_line(fd, line):
    # MSG_DONTWAIT, not O_NONBLOCK: the socket's open file is shared with a child's stdin.
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0, fd)
    try:
        sock.send((line + '\n').encode('utf-8', 'replace'), socket.MSG_DONTWAIT)
    except OSError:
        pass
    finally:
        sock.detach()
