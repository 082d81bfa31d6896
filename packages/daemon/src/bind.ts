/**
 * The `--bind` address: `HOST:PORT` with an IPv4 literal or `localhost`, or
 * `[IPv6]:PORT`. Port 0 asks the system for a free port (tests use it). Also
 * the loopback test that decides whether the daemon may start without a token.
 */
import { isIP } from "node:net";
import { ValidationError } from "@actionqueue/core";

/** Default bind address. */
export const DEFAULT_BIND = "127.0.0.1:8787";

/** A parsed bind address. */
export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

function invalid(text: string, why: string): ValidationError {
  return new ValidationError("INVALID_CONFIG", `--bind ${JSON.stringify(text)}: ${why}`, { details: { field: "bind", value: text } });
}

/** Parses `HOST:PORT` / `[IPv6]:PORT`; throws `INVALID_CONFIG` naming the value. */
export function parseBindAddress(text: string): BindAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) throw invalid(text, "expected HOST:PORT or [IPV6]:PORT, e.g. 127.0.0.1:8787");
  const host = m[1] ?? m[2] ?? "";
  const port = Number(m[3]);
  if (port > 65_535) throw invalid(text, "port must be from 0 to 65535");
  if (m[1] !== undefined && isIP(host) !== 6) throw invalid(text, `${host} is not an IPv6 address`);
  if (m[2] !== undefined && host !== "localhost" && isIP(host) !== 4) throw invalid(text, `${host} is not an IPv4 address or localhost`);
  return { host, port };
}

/** True when `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped !== null && (mapped[1] ?? "").startsWith("127.");
}

/** The base URL clients use for a listening address. */
export function baseUrl(host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
