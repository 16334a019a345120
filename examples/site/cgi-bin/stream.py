#!/usr/bin/env python3
"""Print a line per second; the server streams each one as it comes."""
import sys
import time

sys.stdout.write("Content-Type: text/plain; charset=utf-8\r\n\r\n")
sys.stdout.flush()
for i in range(1, 6):
    sys.stdout.write(f"line {i} of 5 at {time.strftime('%H:%M:%S')}\n")
    sys.stdout.flush()
    if i < 5:
        time.sleep(1)
