/**
 * Split a command line into argv the way a POSIX shell splits words: blanks
 * separate words, single quotes keep everything literally, double quotes keep
 * blanks (backslash escapes `"`, `\`, `$` and backquote inside them), and a
 * backslash outside quotes escapes the next character.
 *
 * No shell ever runs the result, so shell syntax that would do something else
 * (pipes, redirections, `;`, `&`, `$VAR`, backquotes, globs) is refused rather
 * than passed on as a literal that would surprise the user.
 */
export declare function splitCommandLine(line: string): string[];
