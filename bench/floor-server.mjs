// The static floor: a bare node:http server that stats the file and streams
// it with fs.createReadStream, with no caching of any kind. It is the most a
// Node server can do per request without keeping anything between requests.
// Usage: node floor-server.mjs PORT ROOT
import { createReadStream, stat } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

const [port, root] = process.argv.slice(2);

http
  .createServer((req, res) => {
    const path = join(root, decodeURIComponent(req.url.split('?')[0]));
    stat(path, (err, st) => {
      if (err || !st.isFile()) {
        res.writeHead(404, { 'Content-Length': 0 });
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': st.size });
      const stream = createReadStream(path);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
    });
  })
  .listen(Number(port), '127.0.0.1');
