/**
 * scriptserve's library API. `createServer` gives a server ready to listen
 * (node:http; with TLS options node:http2 with HTTP/1.1 fallback, or
 * node:https; with `h2c` a net.Server serving both protocols); `createHandler` gives a request listener usable in any node:http
 * server or as connect/express middleware.
 */
export { closeGracefully, createHandler, createServer, killScripts, reloadServer, type RequestHandler } from './server.js';
export { resolveConfig, ConfigError, type Config, type ServeOptions, type RouteOptions, type LogWriter } from './config.js';
export { HttpError } from './errors.js';
export { stopGracefully, type StopPlan } from './stop.js';
export type { ClientView } from './forwarded.js';
export { VERSION } from './version.js';
export type { AccessPolicy } from './access.js';
