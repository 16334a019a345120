#!/bin/sh
# Set a cookie and a status from a shell script.
printf 'Status: 201 Created\r\n'
printf 'Content-Type: text/plain; charset=utf-8\r\n'
printf 'Set-Cookie: visited=yes; Path=/; SameSite=Lax\r\n'
printf 'Set-Cookie: theme=light; Path=/; SameSite=Lax\r\n'
printf '\r\n'
printf 'Created! Two cookies were set. Your cookies were: %s\n' "${HTTP_COOKIE:-none}"
