#!/usr/bin/env python3
"""Command route: the request body on stdin, upper-cased on stdout."""
import sys

sys.stdout.write(sys.stdin.read().upper() + "\n")
