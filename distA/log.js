/**
 * Make request data safe to print: control characters (C0, DEL, C1) become
 * `\xHH`, so a request can neither forge a log line nor send terminal escapes.
 */
export function escapeLogText(text) {
    // eslint-disable-next-line no-control-regex
    return text.replace(/[\x00-\x1f\x7f-\x9f\\]/g, (ch) => ch === '\\' ? '\\\\' : '\\x' + ch.charCodeAt(0).toString(16).padStart(2, '0'));
}
/** Format one record as a text line or a JSON object (JSON escapes control characters itself). */
export function formatAccess(rec, format) {
    if (format === 'json') {
        return jsonLine({
            time: rec.time.toISOString(),
            client: rec.client,
            method: rec.method,
            path: rec.path,
            status: rec.status,
            bytes: rec.bytes,
            ms: round(rec.ms),
            ...(rec.aborted ? { aborted: true } : {}),
            ...(rec.script ? { exit: rec.script.exit, signal: rec.script.signal, scriptMs: round(rec.script.ms) } : {}),
            ...(rec.error ? { error: rec.error } : {}),
        });
    }
    let line = `${rec.time.toISOString()} ${rec.client} ${escapeLogText(rec.method)} ${escapeLogText(rec.path)} ` +
        `${rec.status} ${rec.bytes} ${round(rec.ms)}ms`;
    if (rec.aborted)
        line += ' aborted';
    if (rec.script) {
        line += rec.script.signal ? ` signal=${rec.script.signal}` : ` exit=${rec.script.exit}`;
        line += ` script=${round(rec.script.ms)}ms`;
    }
    if (rec.error)
        line += ` error="${escapeLogText(rec.error)}"`;
    return line;
}
/** Format a free-form server message (script stderr, warnings) with the same escaping, in the log's format. */
export function formatMessage(source, message, format = 'text') {
    const time = new Date().toISOString();
    if (format === 'json')
        return jsonLine({ time, source, message });
    return `${time} ${escapeLogText(source)}: ${escapeLogText(message)}`;
}
/** JSON.stringify escapes C0 but not DEL or C1 (0x9b is a one-byte CSI terminal escape): escape those too. */
function jsonLine(value) {
    return JSON.stringify(value).replace(/[\x7f-\x9f]/g, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
}
function round(ms) {
    return Math.round(ms * 10) / 10;
}
