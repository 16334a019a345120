#!/usr/bin/env python3
"""Echo the request body back, byte for byte."""
import os
import sys

length = int(os.environ.get("CONTENT_LENGTH") or 0)
out = sys.stdout.buffer
out.write(b"Content-Type: application/octet-stream\r\n")
out.write(b"Content-Length: %d\r\n\r\n" % length)
remaining = length
while remaining > 0:
    chunk = sys.stdin.buffer.read(min(remaining, 65536))
    if not chunk:
        break
    out.write(chunk)
    remaining -= len(chunk)
