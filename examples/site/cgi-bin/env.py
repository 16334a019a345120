#!/usr/bin/env python3
"""Print the CGI environment this script was given."""
import os

print("Content-Type: text/plain; charset=utf-8")
print()
for key in sorted(os.environ):
    print(f"{key}={os.environ[key]}")
