// The server of bench/cache-events.mjs: scriptserve's library with its defaults, on a free port it prints.
import { createServer } from '../../dist/index.js';

const server = createServer({ root: process.argv[2] });
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
