import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandbox } from "../vm/sandbox.js";
import { closingEngines, harness } from "./__tests__/harness.js";

const track = closingEngines();

describe("workflow realm globals WDK documents", () => {
  it("crypto.subtle.digest gives the same digest as Node, as a settled promise; other subtle methods refuse", async () => {
    const h = track(
      harness({
        "workflow//./g.ts//digest": `async function digest(text) {
          const bytes = new TextEncoder().encode(text);
          const out = {};
          for (const alg of ["SHA-1", "SHA-256", { name: "SHA-512" }]) {
            const buf = await crypto.subtle.digest(alg, bytes);
            out[typeof alg === "string" ? alg : alg.name] = Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
          }
          let refused;
          try { await crypto.subtle.sign("HMAC", {}, bytes); } catch (e) { refused = e.message; }
          let unknown;
          try { await crypto.subtle.digest("MD5", bytes); } catch (e) { unknown = e.name; }
          return { out, refused, unknown };
        }`,
      }),
    );
    const run = await h.start<{ out: Record<string, string>; refused: string; unknown: string }>(
      "workflow//./g.ts//digest",
      ["hello"],
    );
    const { out, refused, unknown } = await run.returnValue;
    expect(out["SHA-256"]).toBe(createHash("sha256").update("hello").digest("hex"));
    expect(out["SHA-1"]).toBe(createHash("sha1").update("hello").digest("hex"));
    expect(out["SHA-512"]).toBe(createHash("sha512").update("hello").digest("hex"));
    expect(refused).toContain('must run in a "use step" function');
    expect(unknown).toBe("NotSupportedError");
  });

  it("Uint8Array base64 and hex helpers agree with Node's Buffer", () => {
    const sb = createSandbox({ seed: "b64" });
    const bytes = [0, 1, 2, 250, 251, 252, 253, 254, 255, 62, 63];
    for (let n = 0; n <= bytes.length; n++) {
      const slice = bytes.slice(0, n);
      const buf = Buffer.from(slice);
      const got = sb.evaluate(`(() => {
        const a = new Uint8Array(${JSON.stringify(slice)});
        return [a.toBase64(), a.toBase64({ alphabet: "base64url", omitPadding: true }), a.toHex(),
          Array.from(Uint8Array.fromBase64(a.toBase64())), Array.from(Uint8Array.fromHex(a.toHex())),
          Array.from(Uint8Array.fromBase64(a.toBase64({ alphabet: "base64url" }), { alphabet: "base64url" }))];
      })()`) as [string, string, string, number[], number[], number[]];
      expect(got[0]).toBe(buf.toString("base64"));
      expect(got[1]).toBe(buf.toString("base64url"));
      expect(got[2]).toBe(buf.toString("hex"));
      expect(got[3]).toEqual(slice);
      expect(got[4]).toEqual(slice);
      expect(got[5]).toEqual(slice);
    }
    expect(() => sb.evaluate(`Uint8Array.fromHex("abc")`)).toThrow(/even number of hexadecimal digits/);
    expect(() => sb.evaluate(`Uint8Array.fromBase64("a*==")`)).toThrow(/invalid character/);
    expect(sb.evaluate(`Array.from(Uint8Array.fromBase64(" aGk= "))`)).toEqual([104, 105]);
  });

  it("setFromBase64 / setFromHex write into an existing array, as WDK's globals page shows", () => {
    const sb = createSandbox({ seed: "set" });
    expect(
      sb.evaluate(`(() => {
        const a = new Uint8Array(5), b = new Uint8Array(5), small = new Uint8Array(4), hex = new Uint8Array(2);
        return [a.setFromBase64("SGVsbG8="), Array.from(a), b.setFromHex("48656c6c6f"), Array.from(b),
          small.setFromBase64("SGVsbG8="), Array.from(small), hex.setFromHex("48656c6c6f"), Array.from(hex)];
      })()`),
    ).toEqual([
      { read: 8, written: 5 },
      [72, 101, 108, 108, 111],
      { read: 10, written: 5 },
      [72, 101, 108, 108, 111],
      // Only whole chunks: 3 bytes of "Hel", the 4th byte stays 0.
      { read: 4, written: 3 },
      [72, 101, 108, 0],
      { read: 4, written: 2 },
      [72, 101],
    ]);
  });

  it("the global fetch and timers refuse with WDK's documented messages", () => {
    const sb = createSandbox({ seed: "msg" });
    expect(() => sb.evaluate(`fetch("https://example.com")`)).toThrow(
      /^Global "fetch" is unavailable in workflow functions\. Use the "fetch" step function from "workflow" to make HTTP requests/,
    );
    expect(() => sb.evaluate(`setTimeout(() => {}, 10)`)).toThrow(
      /^Timeout functions like "setTimeout" and "setInterval" are not supported in workflow functions\. Use the "sleep" function from "workflow" for time-based delays/,
    );
  });

  it("Symbol.dispose and Symbol.asyncDispose are the host's symbols", () => {
    const sb = createSandbox({ seed: "sym" });
    expect(sb.evaluate("Symbol.dispose")).toBe((Symbol as { dispose?: symbol }).dispose);
    expect(sb.evaluate("Symbol.asyncDispose")).toBe((Symbol as { asyncDispose?: symbol }).asyncDispose);
  });
});

describe("globalThis.fetch = fetch in workflow code", () => {
  let server: Server;
  let url = "";
  beforeAll(async () => {
    server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ path: req.url }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("installs the workflow fetch step as the run's global fetch (what the AI SDK calls)", async () => {
    const h = track(
      harness({
        "workflow//./g.ts//ai": `async function ai(base) {
          globalThis.fetch = rt().fetch;
          // A library reads the global at call time.
          const res = await fetch(base + "/v1/chat");
          return await res.json();
        }`,
      }),
    );
    const run = await h.start("workflow//./g.ts//ai", [url]);
    await expect(run.returnValue).resolves.toEqual({ path: "/v1/chat" });
  });
});
