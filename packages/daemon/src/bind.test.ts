import { describe, expect, it } from "vitest";
import { baseUrl, isLoopback, parseBindAddress } from "./bind.js";
import { validateDaemonOptions } from "./daemon.js";

describe("parseBindAddress", () => {
  it("accepts IPv4, localhost and bracketed IPv6 with a port", () => {
    expect(parseBindAddress("127.0.0.1:8787")).toEqual({ host: "127.0.0.1", port: 8787 });
    expect(parseBindAddress("localhost:0")).toEqual({ host: "localhost", port: 0 });
    expect(parseBindAddress("[::1]:9000")).toEqual({ host: "::1", port: 9000 });
  });

  it("refuses anything else, naming the value", () => {
    for (const text of ["8787", "127.0.0.1", "example.com:80", "127.0.0.1:70000", "[127.0.0.1]:80", "::1:80", "1.2.3:80"]) {
      expect(() => parseBindAddress(text), text).toThrow(/--bind/);
    }
  });
});

describe("loopback", () => {
  it("knows loopback hosts", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"]) expect(isLoopback(host), host).toBe(true);
    for (const host of ["0.0.0.0", "10.0.0.1", "::", "192.168.1.1"]) expect(isLoopback(host), host).toBe(false);
  });

  it("refuses a non-loopback bind without a token, a token with --allow-unauthenticated-control, and --retain without --handler", () => {
    expect(() => validateDaemonOptions({ dataDir: "/d", bind: "0.0.0.0:80" })).toThrow(/non-loopback/);
    expect(validateDaemonOptions({ dataDir: "/d", bind: "0.0.0.0:80", token: "0123456789abcdef" })).toEqual({ host: "0.0.0.0", port: 80 });
    expect(() => validateDaemonOptions({ dataDir: "/d", token: "0123456789abcdef", allowUnauthenticatedControl: true })).toThrow(/cannot be combined/);
    expect(() => validateDaemonOptions({ dataDir: "" })).toThrow(/--data-dir/);
    // Retention runs while dispatching, which needs a handler module.
    expect(() => validateDaemonOptions({ dataDir: "/d", retainMs: 60_000 })).toThrow(/--retain needs --handler/);
    expect(validateDaemonOptions({ dataDir: "/d", retainMs: 60_000, handlerModule: "h.mjs" })).toEqual({ host: "127.0.0.1", port: 8787 });
  });

  it("takes an undefined token as none (an unset environment variable passed through) and refuses one that is not a string", () => {
    const fromEnv: string | undefined = undefined;
    expect(validateDaemonOptions({ dataDir: "/d", token: fromEnv })).toEqual({ host: "127.0.0.1", port: 8787 });
    expect(() => validateDaemonOptions({ dataDir: "/d", bind: "0.0.0.0:80", token: fromEnv })).toThrow(/non-loopback/);
    expect(() => validateDaemonOptions({ dataDir: "/d", token: 1234567890123456 as unknown as string })).toThrow(
      "invalid token 1234567890123456: expected a string of at least 16 characters",
    );
  });

  it("formats base URLs", () => {
    expect(baseUrl("127.0.0.1", 1)).toBe("http://127.0.0.1:1");
    expect(baseUrl("::1", 2)).toBe("http://[::1]:2");
  });
});
