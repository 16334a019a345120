#!/usr/bin/env python3
"""Answer the example form: read the urlencoded body, show it back, escaped."""
import html
import os
import sys
import urllib.parse

length = int(os.environ.get("CONTENT_LENGTH") or 0)
body = sys.stdin.buffer.read(length).decode("utf-8", "replace")
fields = urllib.parse.parse_qs(body)
name = fields.get("name", ["stranger"])[0]
message = fields.get("message", [""])[0]

sys.stdout.write("Content-Type: text/html; charset=utf-8\r\n\r\n")
sys.stdout.write(f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Thanks</title>
<link rel="stylesheet" href="/style.css"></head>
<body><main>
<h1>Thanks, {html.escape(name)}!</h1>
<p>The script received this message ({len(message)} characters):</p>
<blockquote id="message">{html.escape(message)}</blockquote>
<p>Method: {html.escape(os.environ.get("REQUEST_METHOD", ""))}</p>
<p><a href="/">Back</a></p>
</main></body></html>
""")
