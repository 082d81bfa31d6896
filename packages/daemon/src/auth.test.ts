import { describe, expect, it } from "vitest";
import { checkControlAccess, tokensEqual, validateToken } from "./auth.js";

const TOKEN = "0123456789abcdef-token";

describe("checkControlAccess", () => {
  it("lets the right bearer token through, case-insensitive scheme", () => {
    expect(checkControlAccess({ token: TOKEN }, `Bearer ${TOKEN}`)).toBeUndefined();
    expect(checkControlAccess({ token: TOKEN }, `bearer ${TOKEN}`)).toBeUndefined();
  });

  it("401 without or with a malformed header, 403 for a wrong token", () => {
    expect(checkControlAccess({ token: TOKEN }, undefined)?.status).toBe(401);
    expect(checkControlAccess({ token: TOKEN }, "")?.status).toBe(401);
    expect(checkControlAccess({ token: TOKEN }, TOKEN)?.status).toBe(401);
    expect(checkControlAccess({ token: TOKEN }, `Basic ${TOKEN}`)?.status).toBe(401);
    expect(checkControlAccess({ token: TOKEN }, `Bearer ${TOKEN}x`)?.status).toBe(403);
    expect(checkControlAccess({ token: TOKEN }, "Bearer a")?.status).toBe(403);
  });

  it("no token: 403 saying how to configure one, unless explicitly allowed", () => {
    const denied = checkControlAccess({}, undefined);
    expect(denied?.status).toBe(403);
    expect(denied?.message).toMatch(/--token-file/);
    expect(checkControlAccess({ allowUnauthenticatedControl: true }, undefined)).toBeUndefined();
  });
});

describe("tokens", () => {
  it("compares in constant time over different lengths", () => {
    expect(tokensEqual("abc", "abc")).toBe(true);
    expect(tokensEqual("abc", "abcd")).toBe(false);
    expect(tokensEqual("", "abc")).toBe(false);
  });

  it("refuses short tokens and whitespace", () => {
    expect(() => validateToken("short", "ACTIONQUEUE_TOKEN")).toThrow(/at least 16/);
    expect(() => validateToken("0123456789 abcdefgh", "ACTIONQUEUE_TOKEN")).toThrow(/whitespace/);
    expect(validateToken(TOKEN, "x")).toBe(TOKEN);
  });
});
