# The warm Python floor (issue 15): the least a warm request can cost, with
# no server and no protocol. A started interpreter holding scriptserve's
# default preloads forks one child per request, one at a time; the child runs
# the script's precompiled code with its stdin a socket pair holding the
# body and its stdout a pipe, and exits; the parent reads the output to its
# end, checks it, and reaps the child. Run pinned to the server core.
#
# Usage: python3 warm-floor.py SCRIPT PRELOAD_CSV BODY_FILE EXPECT_FILE SECONDS
# Prints one JSON line: requests/s, and CPU ms and minor faults per request
# of the parent and of its children.
import gc, importlib, json, os, resource, socket, sys, time

script, preloads, body_file, expect_file, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
for name in filter(None, preloads.split(',')):
    importlib.import_module(name)
body = open(body_file, 'rb').read()
expect = open(expect_file, 'rb').read()
code = compile(open(script, 'rb').read(), script, 'exec')
os.environ['CONTENT_LENGTH'] = str(len(body))
gc.collect()
gc.freeze()


def one():
    feed, stdin = socket.socketpair()
    feed.sendall(body)
    feed.shutdown(socket.SHUT_WR)
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(stdin.fileno(), 0)
            os.dup2(out_w, 1)
            sys.stdin = open(0, 'r', closefd=False)
            sys.stdout = open(1, 'w', closefd=False)
            exec(code, {'__name__': '__main__', '__file__': script})
            sys.stdout.flush()
        finally:
            os._exit(0)
    os.close(out_w)
    stdin.close()
    chunks = []
    while True:
        chunk = os.read(out_r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(out_r)
    feed.close()
    os.waitpid(pid, 0)
    return b''.join(chunks) == expect


for _ in range(20):  # warm-up, unrecorded
    one()
requests = errors = 0
self0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
start = time.perf_counter()
while time.perf_counter() - start < seconds:
    if one():
        requests += 1
    else:
        errors += 1
elapsed = time.perf_counter() - start
self1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
n = max(requests + errors, 1)
cpu = lambda a, b: (b.ru_utime - a.ru_utime + b.ru_stime - a.ru_stime) * 1000 / n
print(json.dumps({
    'rps': requests / elapsed, 'requests': requests, 'errors': errors,
    'parentMs': cpu(self0, self1), 'parentFaults': (self1.ru_minflt - self0.ru_minflt) / n,
    'childMs': cpu(kids0, kids1), 'childFaults': (kids1.ru_minflt - kids0.ru_minflt) / n,
}))
