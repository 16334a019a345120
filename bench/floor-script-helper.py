# The script floor's helper (issue 15), started by bench/floor-script-server.mjs
# with /usr/bin/python3: the least a process that starts scripts for a Node
# server can do per request.
#
# Protocol, one Unix-socket connection per request, from the server:
#   {"argv": [...], "env": {...}, "n": BODY_BYTES}\n  then BODY_BYTES of body
# The helper reads that, puts the body in a socketpair that becomes the
# script's stdin, and posix_spawns the script with stdout = the connection
# itself and stderr = /dev/null, in a session of its own. It writes nothing
# back: the script's stdout (its CGI header block included) is the reply, and
# the connection ends when the script exits. Bodies larger than a socketpair's
# buffer (about 200 KiB on Linux) would block the helper: the floor is for the
# bench's 16-byte body only.
#
# Scripts are reaped with waitpid, not left to SIGCHLD = SIG_IGN: children
# reaped by the kernel are not added to the helper's cutime/cstime (getrusage(2),
# RUSAGE_CHILDREN counts only children waited for), and bench/lib/cpu.mjs reads
# the scripts' CPU there, as it does for scriptserve's helper.
#
# Usage: python3 floor-script-helper.py SOCKET_PATH
# Prints "ready" on stdout once it listens; exits when its stdin (a pipe from
# the server) ends, so it never outlives the server.

import json
import os
import select
import signal
import socket
import sys

# The dispositions a CGI server gives its children: Python ignores SIGPIPE and
# SIGXFSZ, and an ignored signal stays ignored across exec (as subprocess's
# restore_signals does).
DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
READ_BYTES = 65536


def listen(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(256)
    listener.setblocking(False)
    return listener


def start_script(conn, request, body, stderr):
    """posix_spawn the script: stdin a socketpair holding the body, stdout the connection."""
    ours, theirs = socket.socketpair()
    # The body stays queued for the script after our end closes; it reads it, then EOF.
    ours.sendall(body)
    ours.close()
    try:
        os.posix_spawn(request['argv'][0], request['argv'], request['env'], file_actions=[
            (os.POSIX_SPAWN_DUP2, theirs.fileno(), 0),
            (os.POSIX_SPAWN_DUP2, conn, 1),
            (os.POSIX_SPAWN_DUP2, stderr, 2),
        ], setsid=True, setsigdef=DEFAULT_SIGNALS)
    except OSError as err:
        print(f'floor-script-helper: {request["argv"][0]}: {err}', file=sys.stderr)
    finally:
        theirs.close()
        # The script holds its own copy of the connection: the server sees EOF when it exits.
        os.close(conn)


def drain(fd):
    while True:
        try:
            os.read(fd, 4096)
        except BlockingIOError:
            return


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def accept_all(listener, pending, poller):
    while True:
        try:
            # The bare fd and address (what accept() wraps in a socket object): each connection is used once,
            # by os.read and posix_spawn. Blocking and CLOEXEC (accept4 on Linux).
            conn, _ = listener._accept()
        except BlockingIOError:
            return
        pending[conn] = b''
        poller.register(conn, select.POLLIN)


def main():
    listener = listen(sys.argv[1])
    stderr = os.open(os.devnull, os.O_WRONLY)
    # SIGCHLD wakes the poll through a pipe (the handler itself does nothing).
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    poller = select.poll()
    poller.register(listener.fileno(), select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    poller.register(0, select.POLLIN)
    pending = {}  # connection fd -> the bytes read so far
    print('ready', flush=True)
    while True:
        for fd, _ in poller.poll():
            if fd == wake_r:
                drain(wake_r)
                reap()
            elif fd == 0:
                return  # the server is gone
            elif fd == listener.fileno():
                accept_all(listener, pending, poller)
            else:
                on_readable(fd, pending, poller, stderr)


def on_readable(fd, pending, poller, stderr):
    """Read from one connection; start its script once the line and the whole body are in."""
    chunk = os.read(fd, READ_BYTES)
    data = pending[fd] + chunk
    newline = data.find(b'\n')
    if newline >= 0:
        request = json.loads(data[:newline])
        body = data[newline + 1:]
        if len(body) >= request['n']:
            del pending[fd]
            poller.unregister(fd)
            start_script(fd, request, body, stderr)
            return
    if chunk:
        pending[fd] = data
        return
    del pending[fd]  # the server went away mid-request
    poller.unregister(fd)
    os.close(fd)


if __name__ == '__main__':
    main()
