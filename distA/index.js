/**
 * scriptserve's library API. `createServer` gives a node:http server ready to
 * listen; `createHandler` gives a request listener usable in any node:http
 * server or as connect/express middleware.
 */
export { closeGracefully, createHandler, createServer, killScripts } from './server.js';
export { resolveConfig, ConfigError } from './config.js';
export { HttpError } from './errors.js';
export { VERSION } from './version.js';
