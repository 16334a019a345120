/**
 * Send a signal to a whole process group; true when it reached at least one
 * process. The group is usually already gone (the script exited), and then
 * process.kill throws ESRCH with a captured stack: on the path of every
 * script run, so stack capture is turned off for the call.
 */
export function killGroup(pgid, signal) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        process.kill(-pgid, signal);
        return true;
    }
    catch {
        return false;
    }
    finally {
        Error.stackTraceLimit = limit;
    }
}
