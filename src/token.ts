/**
 * RFC 9110 5.6.2 `token`: what a header field name, a method or a
 * Connection option is made of, and a Forwarded parameter (RFC 7239). One
 * pattern for every parser and option check that asks (CGI and NPH heads,
 * Forwarded, header rules, CORS lists).
 */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
