#!/bin/sh
# Set a cookie and a status from a shell script.
# HttpOnly: page scripts cannot read the cookies; SameSite=Lax: other sites'
# forms and fetches do not carry them. Set both unless a cookie needs otherwise.
# The answer is text/plain (sent with nosniff), so the echoed cookies are never markup.
printf 'Status: 201 Created\r\n'
printf 'Content-Type: text/plain; charset=utf-8\r\n'
printf 'Set-Cookie: visited=yes; Path=/; HttpOnly; SameSite=Lax\r\n'
printf 'Set-Cookie: theme=light; Path=/; HttpOnly; SameSite=Lax\r\n'
printf '\r\n'
printf 'Created! Two cookies were set. Your cookies were: %s\n' "${HTTP_COOKIE:-none}"
