#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

// The command line's entry. Once the server's modules have loaded (the
// import resolves when cli-main's start has begun, not when it ends), V8 is told to
// optimize a function after a quarter of the work it waits for by default
// (its interrupt budget): a script request runs a few hundred times a
// second, not tens of thousands, and with the default its path was still
// running unoptimized, and being compiled, a minute into a load (Node's own
// CPU per /bin/sh CGI request 0.9 ms four seconds in, against 0.6 ms with
// this). Set before the start it cost the start 50 ms (more of the start-up
// code optimized); set after, nothing. Static files are unchanged
// (bench/NOTES.md, "Eighth round"). A process that embeds the server through
// the library keeps its own flags.
await import('./cli-main.js');
setFlagsFromString('--interrupt-budget=16896');
