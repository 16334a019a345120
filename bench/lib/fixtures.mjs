// The folder every server serves, generated at run time in a temporary
// directory (never committed). It is world-readable because python's
// http.server runs CGI scripts as `nobody`.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, openSync, closeSync, ftruncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';

/** Debian's interpreter, named in every Python script's shebang. */
export const PYTHON = '/usr/bin/python3';

/** The 16-byte POST body; it ends in a newline so `/bin/sh`'s builtin `read` needs no EOF. */
export const BODY_16 = Buffer.from('0123456789abcde\n');
/** The 64 KiB POST body echoed back by echo.py. */
export const BODY_64K = Buffer.from('0123456789abcdef'.repeat(4096));
export const LISTING_ENTRIES = 200;

/**
 * Deterministic text that compresses like prose or source (about 4:1 with
 * Brotli), not like a repeated line: words drawn by a hash from a small vocabulary.
 */
function text(size, seed) {
  const words = 'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were'.split(' ');
  let out = '';
  let block = createHash('sha256').update(seed).digest();
  let line = 0;
  while (out.length < size) {
    let sentence = `${String(++line).padStart(5, '0')}`;
    for (let i = 0; i < 12; i++) sentence += ' ' + words[block[i] % words.length];
    out += sentence + '\n';
    block = createHash('sha256').update(block).digest();
  }
  return Buffer.from(out.slice(0, size));
}

/** Deterministic bytes, so every run serves the same content. */
function bytes(size, seed) {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

// Header lines end in CRLF: python's http.server relays them to the client unchanged.
const SCRIPTS = {
  'cgi-bin/hello.sh': `#!/bin/sh
read -r line
printf 'Content-Type: text/plain\\r\\n\\r\\nsh got %s\\n' "$line"
`,
  'cgi-bin/hello.py': `#!${PYTHON}
import os, sys
body = sys.stdin.buffer.read(int(os.environ.get("CONTENT_LENGTH") or 0))
sys.stdout.buffer.write(b"Content-Type: text/plain\\r\\n\\r\\npy got " + body)
`,
  'cgi-bin/echo.py': `#!${PYTHON}
import os, sys
body = sys.stdin.buffer.read(int(os.environ.get("CONTENT_LENGTH") or 0))
sys.stdout.buffer.write(b"Content-Type: application/octet-stream\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body) + body)
`,
  // The 1 GiB POST: streams stdin to stdout, so only backpressure bounds memory.
  'cgi-bin/echo-cat.sh': `#!/bin/sh
printf 'Content-Type: application/octet-stream\\r\\n\\r\\n'
exec cat
`,
  // The command route: the same /bin/sh work as hello.sh, minus the CGI header.
  'route.sh': `#!/bin/sh
read -r line
printf 'route got %s\\n' "$line"
`,
};

/**
 * Write the fixture tree. Returns paths and the exact bodies the checks expect.
 * `bigMiB` > 0 adds a sparse file of that size for the big-download test.
 */
export function createFixtures({ workdir, bigMiB }) {
  const work = workdir ? resolve(workdir) : mkdtempSync(join(tmpdir(), 'scriptserve-bench-'));
  mkdirSync(work, { recursive: true });
  chmodSync(work, 0o755);
  const root = join(work, 'root');
  mkdirSync(join(root, 'cgi-bin'), { recursive: true });
  mkdirSync(join(root, 'list'), { recursive: true });
  const files = { '1k.bin': bytes(1024, '1k'), '100k.bin': bytes(100 * 1024, '100k'), '10m.bin': bytes(10 << 20, '10m') };
  for (const [name, data] of Object.entries(files)) writeFileSync(join(root, name), data, { mode: 0o644 });
  // Compression (issue 18): a text file scriptserve compresses itself (no copies beside it), and the
  // same file with precompressed .br/.gz copies in a root of its own, for sirv, which serves copies only.
  const text100k = text(100 * 1024, 'text-100k');
  const precompressedRoot = join(work, 'root-precompressed');
  for (const dir of [root, precompressedRoot]) {
    mkdirSync(join(dir, 'text'), { recursive: true });
    writeFileSync(join(dir, 'text', '100k.txt'), text100k, { mode: 0o644 });
    chmodSync(join(dir, 'text'), 0o755);
  }
  chmodSync(precompressedRoot, 0o755);
  writeFileSync(join(precompressedRoot, 'text', '100k.txt.gz'), gzipSync(text100k, { level: 9 }), { mode: 0o644 });
  writeFileSync(join(precompressedRoot, 'text', '100k.txt.br'), brotliCompressSync(text100k, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }), { mode: 0o644 });
  files['text/100k.txt'] = text100k;
  const names = [];
  for (let i = 0; i < LISTING_ENTRIES; i++) {
    const name = `entry-${String(i).padStart(3, '0')}.txt`;
    names.push(name);
    writeFileSync(join(root, 'list', name), `${name}\n`, { mode: 0o644 });
  }
  for (const [rel, text] of Object.entries(SCRIPTS)) writeFileSync(join(root, rel), text, { mode: 0o755 });
  for (const dir of [root, join(root, 'cgi-bin'), join(root, 'list')]) chmodSync(dir, 0o755);
  if (bigMiB > 0) {
    const fd = openSync(join(root, 'big.bin'), 'w', 0o644);
    ftruncateSync(fd, bigMiB * 1024 * 1024); // sparse: reads zeros, costs no disk
    closeSync(fd);
  }
  const SH_BODY = Buffer.concat([Buffer.from('sh got '), BODY_16]);
  return {
    work,
    root,
    precompressedRoot,
    files,
    listingNames: names,
    expected: {
      sh: SH_BODY,
      py: Buffer.concat([Buffer.from('py got '), BODY_16]),
      route: Buffer.concat([Buffer.from('route got '), BODY_16]),
      echo: BODY_64K,
    },
    /** What hello.sh and hello.py write to stdout, CGI header block included: the script floor and the warm floor read it unparsed. */
    stdout: {
      sh: Buffer.concat([Buffer.from('Content-Type: text/plain\r\n\r\n'), SH_BODY]),
      py: Buffer.concat([Buffer.from('Content-Type: text/plain\r\n\r\npy got '), BODY_16]),
    },
  };
}
