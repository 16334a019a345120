// The 404 floor: a bare node:http server that answers every request with
// exactly the bytes of scriptserve's 404 page (HTML, CSP, nosniff, no-store)
// and does nothing else. Compare with `wrk` against scriptserve and sirv:
//   taskset -c 0 node bench/floor-404.mjs PORT
import http from 'node:http';
import { ERROR_PAGE_HEADERS, renderErrorPage } from '../dist/errors.js';

// A string, as scriptserve sends it: node:http then writes headers and page in one go.
const body = renderErrorPage(404);
const headers = [...Object.entries(ERROR_PAGE_HEADERS).flat(), 'Content-Length', String(Buffer.byteLength(body))];
http
  .createServer((_req, res) => {
    res.writeHead(404, headers);
    res.end(body);
  })
  .listen(Number(process.argv[2] ?? 8404), '127.0.0.1');
