/**
 * The reserved URL paths of live reload. Under `/.well-known/` (RFC 8615), so
 * they cannot shadow a file anyone would serve: with the default
 * `--dotfiles ignore`, nothing under a dot-directory is served at all.
 */
export const LIVE_RELOAD_PREFIX = '/.well-known/scriptserve/';
/** The client script injected into HTML pages. */
export const LIVE_RELOAD_SCRIPT_PATH = LIVE_RELOAD_PREFIX + 'live-reload.js';
/** The Server-Sent Events stream the client script listens to. */
export const LIVE_RELOAD_STREAM_PATH = LIVE_RELOAD_PREFIX + 'live-reload';
