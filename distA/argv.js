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
export function splitCommandLine(line) {
    const words = [];
    let word = '';
    let inWord = false;
    let i = 0;
    while (i < line.length) {
        const ch = line[i];
        if (ch === ' ' || ch === '\t' || ch === '\n') {
            if (inWord)
                words.push(word);
            word = '';
            inWord = false;
            i++;
        }
        else if (ch === "'") {
            const end = line.indexOf("'", i + 1);
            if (end < 0)
                throw new Error('unterminated single quote');
            word += line.slice(i + 1, end);
            inWord = true;
            i = end + 1;
        }
        else if (ch === '"') {
            [word, i] = readDoubleQuoted(line, i + 1, word);
            inWord = true;
        }
        else if (ch === '\\') {
            if (i + 1 >= line.length)
                throw new Error('trailing backslash');
            word += line[i + 1];
            inWord = true;
            i += 2;
        }
        else if ('|&;<>()$`*?[]{}~'.includes(ch) && !(ch === '~' && inWord)) {
            throw new Error(`shell syntax ${JSON.stringify(ch)} is not supported (no shell runs the command); quote it`);
        }
        else {
            word += ch;
            inWord = true;
            i++;
        }
    }
    if (inWord)
        words.push(word);
    return words;
}
function readDoubleQuoted(line, start, word) {
    let i = start;
    while (i < line.length) {
        const ch = line[i];
        if (ch === '"')
            return [word, i + 1];
        if (ch === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
            word += line[i + 1];
            i += 2;
        }
        else if (ch === '$' || ch === '`') {
            throw new Error(`shell syntax ${JSON.stringify(ch)} is not supported (no shell runs the command); escape it`);
        }
        else {
            word += ch;
            i++;
        }
    }
    throw new Error('unterminated double quote');
}
