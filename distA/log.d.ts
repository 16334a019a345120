/** What a script run adds to its request's log line. */
export interface ScriptOutcome {
    /** Exit code, or null when a signal ended it. */
    exit: number | null;
    /** Signal that ended it, or null. */
    signal: string | null;
    /** Run time in milliseconds. */
    ms: number;
}
/** One access-log record: a request, how it was answered, and what it cost. */
export interface AccessRecord {
    time: Date;
    client: string;
    method: string;
    path: string;
    status: number;
    /** Body bytes sent. */
    bytes: number;
    /** Milliseconds from request to the response's end. */
    ms: number;
    /** The client went away before the response ended. */
    aborted?: boolean;
    script?: ScriptOutcome;
    /** Detail for the log only (never sent to the client). */
    error?: string;
}
/**
 * Make request data safe to print: control characters (C0, DEL, C1) become
 * `\xHH`, so a request can neither forge a log line nor send terminal escapes.
 */
export declare function escapeLogText(text: string): string;
/** Format one record as a text line or a JSON object (JSON escapes control characters itself). */
export declare function formatAccess(rec: AccessRecord, format: 'text' | 'json'): string;
/** Format a free-form server message (script stderr, warnings) with the same escaping, in the log's format. */
export declare function formatMessage(source: string, message: string, format?: 'text' | 'json'): string;
