/**
 * The request as the client made it, when a trusted proxy stands between
 * (issue 20): who the client is (address, port), which scheme, Host and port
 * it asked for. Every step that needs one of these reads the request's
 * {@link ClientView} (`ctx.client`, built once per request in context.ts):
 * the access log, the CGI environment (REMOTE_ADDR, REMOTE_PORT, HTTPS,
 * REQUEST_SCHEME, SERVER_NAME, SERVER_PORT), the Host check and the
 * cross-origin check.
 *
 * Security model: forwarding headers are believed only from a peer in
 * `--trust-proxy`; from anyone else they are ignored (a client can write any
 * header it likes). Through trusted proxies, the client is the right-most
 * address of the chain that is not itself trusted: every proxy appends the
 * address it saw, so what lies left of the first untrusted hop was written
 * by the client and proves nothing. `Forwarded` (RFC 7239) wins over the
 * `X-Forwarded-*` family when both are present. A malformed value is
 * ignored, with a log line, never a failure of the request.
 */
import { BlockList, isIP, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { TOKEN } from './token.js';

/**
 * REMOTE_ADDR of a Unix-socket peer without trusted forwarding headers: the
 * peer is on this machine (it could open the socket file), and scripts parse
 * REMOTE_ADDR as an IP address, so it is the IPv4 loopback address, with
 * REMOTE_PORT 0 (as Puma does for Unix sockets).
 */
export const UNIX_PEER_ADDRESS = '127.0.0.1';

/** The `--trust-proxy` list, parsed once at start-up. */
export interface TrustedProxies {
  /** Addresses and networks (`loopback` adds 127.0.0.0/8 and ::1). */
  readonly networks: BlockList;
  /** Peers on a Unix socket (`unix`). */
  readonly unix: boolean;
  /** The list as given, for messages. */
  readonly spec: readonly string[];
}

/** A bad `--trust-proxy` entry (the caller wraps it as a ConfigError). */
export class TrustListError extends Error {}

/**
 * Parse `--trust-proxy` entries: IPv4/IPv6 addresses, CIDR networks
 * (`10.0.0.0/8`, `fd00::/8`), `loopback` and `unix`. Throws TrustListError.
 */
export function parseTrustedProxies(entries: readonly string[]): TrustedProxies {
  const networks = new BlockList();
  let unix = false;
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (entry === 'unix') unix = true;
    else if (entry === 'loopback') {
      networks.addSubnet('127.0.0.0', 8, 'ipv4');
      networks.addAddress('::1', 'ipv6');
    } else addNetwork(networks, entry, raw);
  }
  return { networks, unix, spec: entries };
}

function addNetwork(networks: BlockList, entry: string, raw: string): void {
  const slash = entry.indexOf('/');
  const address = unbracket(slash < 0 ? entry : entry.slice(0, slash));
  const family = isIP(address);
  if (family === 0) throw new TrustListError(`--trust-proxy: not an address, network, "loopback" or "unix": ${JSON.stringify(raw)}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) return networks.addAddress(address, type);
  const prefix = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) {
    throw new TrustListError(`--trust-proxy: bad prefix length in ${JSON.stringify(raw)}`);
  }
  networks.addSubnet(address, Number(prefix), type);
}

function unbracket(address: string): string {
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}

/** IPv4 clients of a dual-stack socket show up as `::ffff:a.b.c.d`; they are `a.b.c.d`. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Is this IP address (plain or IPv4-mapped) in the trusted list? */
export function isTrustedAddress(trust: TrustedProxies, address: string): boolean {
  const plain = plainAddress(address);
  const family = isIP(plain);
  return family !== 0 && trust.networks.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/** A node of a forwarding chain (RFC 7239 6): an address (with its port, if given), or a name that hides one. */
export type ForwardedNode =
  | { readonly kind: 'ip'; readonly address: string; readonly port: number | null }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'obfuscated'; readonly name: string };

/**
 * Parse a node: `192.0.2.43`, `192.0.2.43:47011`, `[2001:db8::17]`,
 * `[2001:db8::17]:4711`, `unknown`, `_hidden` (RFC 7239 6; obfuscated ports
 * `:_x` too). X-Forwarded-For also carries bare IPv6 (`2001:db8::17`),
 * accepted when `bareIPv6`. Null when malformed.
 */
export function parseNode(value: string, bareIPv6 = false): ForwardedNode | null {
  const v = value.trim();
  if (v.toLowerCase() === 'unknown') return { kind: 'unknown' };
  if (/^_[A-Za-z0-9._-]+$/.test(v)) return { kind: 'obfuscated', name: v };
  if (bareIPv6 && isIP(v) === 6) return { kind: 'ip', address: v, port: null };
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+))(?::(\d{1,5}|_[A-Za-z0-9._-]+))?$/.exec(v);
  if (!m) return null;
  const address = m[1] ?? m[2]!;
  if (isIP(address) !== (m[1] !== undefined ? 6 : 4)) return null;
  const port = m[3] === undefined || m[3].startsWith('_') ? null : Number(m[3]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { kind: 'ip', address, port };
}

/** One forwarded-element: its parameters by lower-case name (RFC 7239 4: names are case-insensitive). */
export type ForwardedElement = ReadonlyMap<string, string>;

/**
 * Parse one `Forwarded` field value into its elements (RFC 7239 4):
 * `for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]"`. Values
 * are tokens or quoted strings (backslash escapes undone). Null when
 * malformed: bad syntax, a parameter twice in one element (RFC 7239 4 MUST
 * NOT), an unterminated quote.
 */
export function parseForwarded(value: string): ForwardedElement[] | null {
  const elements: ForwardedElement[] = [];
  let element = new Map<string, string>();
  let i = 0;
  const n = value.length;
  const skipSpace = (): void => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  for (;;) {
    skipSpace();
    if (i < n && value[i] !== ',' && value[i] !== ';') {
      const eq = value.indexOf('=', i);
      if (eq < 0) return null;
      const name = value.slice(i, eq).toLowerCase();
      if (!TOKEN.test(name) || element.has(name)) return null;
      i = eq + 1;
      let param: string;
      if (value[i] === '"') {
        const quoted = readQuoted(value, i);
        if (quoted === null) return null;
        [param, i] = quoted;
      } else {
        const start = i;
        while (i < n && value[i] !== ';' && value[i] !== ',' && value[i] !== ' ' && value[i] !== '\t') i++;
        param = value.slice(start, i);
        if (!TOKEN.test(param)) return null;
      }
      element.set(name, param);
      skipSpace();
    }
    if (i >= n) break;
    if (value[i] === ',') {
      elements.push(element);
      element = new Map();
    } else if (value[i] !== ';') return null;
    i++;
  }
  elements.push(element);
  return elements;
}

/** A quoted-string starting at `start` (the `"`): its value and the index after it; null if unterminated. */
function readQuoted(value: string, start: number): [string, number] | null {
  let out = '';
  for (let i = start + 1; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"') return [out, i + 1];
    if (c === '\\') {
      if (++i >= value.length) return null;
      out += value[i];
    } else if (c.charCodeAt(0) < 0x20 && c !== '\t') return null;
    else out += c;
  }
  return null;
}

/** A URI scheme the server can describe (RFC 7239 5.4 allows any; only these two mean anything here). */
export function parseProto(value: string): 'http' | 'https' | null {
  const v = value.trim().toLowerCase();
  return v === 'http' || v === 'https' ? v : null;
}

/**
 * A Host value (RFC 9110 7.2: uri-host [":" port]), lower case: a reg-name,
 * an IPv4 address or a bracketed IPv6 one, with an optional port. Null when
 * malformed (a client-made value must not reach SERVER_NAME or a page).
 */
export function parseHost(value: string): { host: string; name: string; port: number | null } | null {
  const v = value.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._~!$&'()*+,;=%-]+)(?::(\d{1,5}))?$/.exec(v);
  if (!m) return null;
  if (m[1]!.startsWith('[') && isIP(m[1]!.slice(1, -1)) !== 6) return null;
  const port = m[2] === undefined ? null : Number(m[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { host: v, name: m[1]!, port };
}

/** A port number, 1 to 65535; null otherwise. */
export function parsePortValue(value: string): number | null {
  const v = value.trim();
  if (!/^\d{1,5}$/.test(v)) return null;
  const port = Number(v);
  return port >= 1 && port <= 65535 ? port : null;
}

/** The request as the client made it (see the module comment). */
export interface ClientView {
  /** The client's IP address, plain (no brackets, no `::ffff:`); {@link UNIX_PEER_ADDRESS} for a Unix-socket peer. */
  readonly address: string;
  /** The client's port; 0 when unknown. */
  readonly port: number;
  /** The scheme the client used. */
  readonly scheme: 'http' | 'https';
  /** The Host the client asked for (`name[:port]`, as in a Host header); undefined when none. */
  readonly host: string | undefined;
  /** The port the client connected to (SERVER_PORT). */
  readonly serverPort: number;
  /** True when any value came from a trusted proxy's headers. */
  readonly forwarded: boolean;
}

/** The origin (`https://app.example`) the client sees this server at, for same-origin checks; undefined without a Host. */
export function ownOrigin(view: ClientView): string | undefined {
  return view.host === undefined ? undefined : `${view.scheme}://${view.host}`;
}

/** What the headers of a request say, as {@link resolveForwarding} reads them: the values of each field line, in order. */
export interface ForwardingHeaders {
  readonly forwarded: readonly string[];
  readonly xForwardedFor: readonly string[];
  readonly xForwardedProto: readonly string[];
  readonly xForwardedHost: readonly string[];
  readonly xForwardedPort: readonly string[];
}

/** What the forwarding headers change of the direct view (pure: table-tested). */
export interface Forwarding {
  address?: string;
  port?: number;
  scheme?: 'http' | 'https';
  host?: string;
  serverPort?: number;
}

const defaultPort = (scheme: 'http' | 'https'): number => (scheme === 'https' ? 443 : 80);

/**
 * Read the forwarding headers of a request from a trusted peer: `Forwarded`
 * when present, else `X-Forwarded-*`. Walks the chain from the right while
 * each hop is trusted; the first untrusted one is the client, and the proto
 * and host that go with it are the client's. A malformed value met on the
 * way stops the walk there (the client is the last hop known) and is reported
 * through `report`; one that is never reached (left of the client, where a
 * client may write anything) is not even parsed.
 */
export function resolveForwarding(h: ForwardingHeaders, trust: TrustedProxies, report: (problem: string) => void): Forwarding {
  return h.forwarded.length > 0 ? fromForwarded(h.forwarded, trust, report) : fromXForwarded(h, trust, report);
}

function fromForwarded(lines: readonly string[], trust: TrustedProxies, report: (problem: string) => void): Forwarding {
  const out: Forwarding = {};
  let chosen: ForwardedElement | undefined;
  walk: for (let l = lines.length - 1; l >= 0; l--) {
    const elements = parseForwarded(lines[l]!);
    if (elements === null) {
      report(`malformed Forwarded header ignored: ${JSON.stringify(lines[l])}`);
      break;
    }
    for (let e = elements.length - 1; e >= 0; e--) {
      const element = elements[e]!;
      chosen = element;
      const forValue = element.get('for');
      if (forValue === undefined) break walk;
      const node = parseNode(forValue);
      if (node === null) {
        report(`malformed Forwarded for= ignored: ${JSON.stringify(forValue)}`);
        break walk;
      }
      if (node.kind !== 'ip') break walk;
      out.address = plainAddress(node.address);
      out.port = node.port ?? 0;
      if (!isTrustedAddress(trust, node.address)) break walk;
    }
  }
  if (chosen === undefined) return out;
  const proto = chosen.get('proto');
  if (proto !== undefined) {
    const scheme = parseProto(proto);
    if (scheme === null) report(`unusable Forwarded proto= ignored: ${JSON.stringify(proto)}`);
    else out.scheme = scheme;
  }
  const host = chosen.get('host');
  if (host !== undefined) applyHost(out, host, 'Forwarded host=', report);
  return out;
}

function fromXForwarded(h: ForwardingHeaders, trust: TrustedProxies, report: (problem: string) => void): Forwarding {
  const out: Forwarding = {};
  const chain = splitList(h.xForwardedFor);
  let index = chain.length - 1;
  for (; index >= 0; index--) {
    const node = parseNode(chain[index]!, true);
    if (node === null) {
      report(`malformed X-Forwarded-For entry ignored: ${JSON.stringify(chain[index])}`);
      index++;
      break;
    }
    if (node.kind !== 'ip') break;
    out.address = plainAddress(node.address);
    out.port = node.port ?? 0;
    if (!isTrustedAddress(trust, node.address)) break;
  }
  if (index < 0) index = 0;
  const pick = (values: readonly string[]): string | undefined => {
    const list = splitList(values);
    // One value per hop: the client's hop's. Otherwise the nearest proxy's (it set the field).
    return list.length === chain.length && chain.length > 0 ? list[Math.min(index, list.length - 1)] : list[list.length - 1];
  };
  const proto = pick(h.xForwardedProto);
  if (proto !== undefined) {
    const scheme = parseProto(proto);
    if (scheme === null) report(`unusable X-Forwarded-Proto ignored: ${JSON.stringify(proto)}`);
    else out.scheme = scheme;
  }
  const host = pick(h.xForwardedHost);
  if (host !== undefined) applyHost(out, host, 'X-Forwarded-Host', report);
  const port = pick(h.xForwardedPort);
  if (port !== undefined) {
    const n = parsePortValue(port);
    if (n === null) report(`malformed X-Forwarded-Port ignored: ${JSON.stringify(port)}`);
    else {
      out.serverPort = n;
      if (out.host !== undefined && parseHost(out.host)!.port === null && n !== defaultPort(out.scheme ?? 'http')) out.host += `:${n}`;
    }
  }
  return out;
}

function applyHost(out: Forwarding, value: string, what: string, report: (problem: string) => void): void {
  const parsed = parseHost(value);
  if (parsed === null) return report(`malformed ${what} ignored: ${JSON.stringify(value)}`);
  out.host = parsed.host;
  if (parsed.port !== null) out.serverPort = parsed.port;
}

/** Comma-separated list items of every field line, in order; empty items dropped. */
function splitList(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const line of lines) {
    for (const item of line.split(',')) {
      const t = item.trim();
      if (t !== '') out.push(t);
    }
  }
  return out;
}

/** The Host header's port, if it has one. */
function hostPort(host: string | undefined): number | null {
  if (host === undefined) return null;
  const m = /:(\d{1,5})$/.exec(host);
  return m ? Number(m[1]) : null;
}

/** Listeners known to be Unix-domain sockets although their address() says nothing (a socket passed as a file descriptor). */
const unixListeners = new WeakSet<object>();

/** Mark a server as listening on a Unix socket (listen.ts, for sockets of socket activation). */
export function markUnixListener(server: object): void {
  unixListeners.add(server);
}

/**
 * Is this socket a Unix-domain one: its server listens on a path, or was
 * marked so? Asked only when the socket has no remote address; a TCP socket
 * already destroyed has none either, and is not one.
 */
function isUnixSocket(socket: Socket): boolean {
  const server = (socket as Socket & { server?: { address?: () => unknown } }).server;
  if (server === undefined) return false;
  return unixListeners.has(server) || (typeof server.address === 'function' && typeof server.address() === 'string');
}

/** The field lines of the forwarding headers, from rawHeaders (each line apart: a malformed one spoils only itself). */
function forwardingHeaders(raw: readonly string[]): ForwardingHeaders | null {
  let found: { [K in keyof ForwardingHeaders]: string[] } | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length < 9 || !/^(forwarded|x-forwarded-(for|proto|host|port))$/i.test(name)) continue;
    found ??= { forwarded: [], xForwardedFor: [], xForwardedProto: [], xForwardedHost: [], xForwardedPort: [] };
    const key = name.toLowerCase();
    const list =
      key === 'forwarded' ? found.forwarded
      : key === 'x-forwarded-for' ? found.xForwardedFor
      : key === 'x-forwarded-proto' ? found.xForwardedProto
      : key === 'x-forwarded-host' ? found.xForwardedHost
      : found.xForwardedPort;
    list.push(raw[i + 1]!);
  }
  return found;
}

/**
 * The request's {@link ClientView}: the socket's own values, replaced by what
 * a trusted peer's forwarding headers say. `trust` null: no proxy is trusted.
 * `report` gets one line per malformed value met.
 */
export function clientView(req: IncomingMessage, trust: TrustedProxies | null, report: (problem: string) => void): ClientView {
  const socket = req.socket;
  const remote = socket.remoteAddress;
  const unix = remote === undefined && isUnixSocket(socket);
  const scheme = (socket as Socket & { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  const host = req.headers.host;
  const direct: ClientView = {
    address: unix ? UNIX_PEER_ADDRESS : plainAddress(remote ?? ''),
    port: socket.remotePort ?? 0,
    scheme,
    host,
    serverPort: socket.localPort ?? hostPort(host) ?? defaultPort(scheme),
    forwarded: false,
  };
  if (trust === null) return direct;
  if (unix ? !trust.unix : remote === undefined || !isTrustedAddress(trust, remote)) return direct;
  const headers = forwardingHeaders(req.rawHeaders);
  if (headers === null) return direct;
  const f = resolveForwarding(headers, trust, report);
  const fScheme = f.scheme ?? scheme;
  return {
    address: f.address ?? direct.address,
    port: f.address !== undefined ? (f.port ?? 0) : direct.port,
    scheme: fScheme,
    host: f.host ?? host,
    serverPort: f.serverPort ?? (f.host !== undefined || f.scheme !== undefined ? defaultPort(fScheme) : direct.serverPort),
    forwarded: Object.keys(f).length > 0,
  };
}
