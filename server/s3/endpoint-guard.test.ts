import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { env, parseEnv } from "@/server/env";
import {
  addressProblem,
  createPinnedAgent,
  EndpointNotAllowedError,
  guardEndpoint,
  METADATA_ADDRESSES,
  pinnedLookup,
  type ResolvedAddress,
  type Resolver,
} from "@/server/s3/endpoint-guard";

const deny = { allowPrivateEndpoints: false } as const;
const allow = { allowPrivateEndpoints: true } as const;
const answers =
  (...addresses: string[]): Resolver =>
  () =>
    Promise.resolve(addresses.map((address): ResolvedAddress => ({ address, family: address.includes(":") ? 6 : 4 })));

describe("addressProblem", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.0.0.1", "private"],
    ["10.255.255.255", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.10", "private"],
    ["169.254.0.1", "link-local"],
    ["169.254.169.254", "cloud metadata"],
    ["100.100.100.200", "cloud metadata"],
    ["100.64.0.1", "shared (CGNAT)"],
    ["100.127.255.254", "shared (CGNAT)"],
    ["0.0.0.0", "unspecified"],
    ["224.0.0.251", "multicast"],
    ["239.255.255.250", "multicast"],
    ["255.255.255.255", "reserved"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["febf:ffff::1", "link-local"],
    ["fd00:ec2::254", "cloud metadata"],
    ["ff02::1", "multicast"],
    // IPv4 inside IPv6: mapped (both notations), compatible, NAT64, 6to4
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["0:0:0:0:0:ffff:10.1.2.3", "private"],
    ["::ffff:169.254.169.254", "cloud metadata"],
    ["::ffff:a9fe:a9fe", "cloud metadata"],
    ["::ffff:100.64.1.1", "shared (CGNAT)"],
    ["::127.0.0.1", "loopback"],
    ["64:ff9b::a9fe:a9fe", "cloud metadata"],
    ["64:ff9b::192.168.0.1", "private"],
    ["2002:7f00:1::", "loopback"],
    ["2002:c0a8:101::1", "private"],
    ["not-an-ip", "reserved"],
    // Where ipaddr.js parses or classifies differently from Wire's rules (see endpoint-guard.ts)
    ["2130706433", "reserved"], // not a resolver answer: "not an IP", though ipaddr.js would read 127.0.0.1
    ["0x7f.1", "reserved"],
    ["010.0.0.1", "reserved"],
    ["fe80::1%en0.1", "link-local"], // a zone id ipaddr.js would not parse
    ["[fe80::1]", "link-local"],
    ["64:ff9b:1::1", "private"], // ipaddr.js: rfc6052 like the NAT64 prefix
    ["2001:db8::1", "reserved"],
    ["100::1", "reserved"],
    ["fec0::1", "private"],
    ["255.255.255.255", "reserved"], // ipaddr.js: broadcast
    ["::ffff:255.255.255.255", "reserved"],
    ["::", "unspecified"], // not the IPv4-compatible 0.0.0.0
  ])("%s is %s", (address, problem) => {
    expect(addressProblem(address)).toBe(problem);
  });

  it.each([
    "8.8.8.8",
    "52.216.8.10",
    "172.32.0.1",
    "172.15.255.255",
    "100.128.0.1",
    "169.253.255.255",
    "192.169.0.1",
    "2600:1f18:2148:bc00::1",
    "2606:4700::6810:84e5",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::",
    // ipaddr.js calls these "reserved" (or names them), Wire has always connected to them
    "192.88.99.1", // retired 6to4 relay anycast
    "192.175.48.1", // AS112
    "192.52.193.1", // AMT
    "2001::1", // Teredo
    "2001:2::1", // benchmarking
    "2001:20::1", // ORCHIDv2
    "3fff::1", // documentation since RFC 9637
    "5f00::1", // segment routing
    "::ffff:0:7f00:1", // RFC 6145 translated: not the mapped form
  ])("%s is public", (address) => {
    expect(addressProblem(address)).toBeNull();
  });
});

describe("guardEndpoint", () => {
  it("refuses IP-literal endpoints in refused ranges without asking DNS", async () => {
    const resolve = vi.fn(answers("8.8.8.8"));
    for (const endpoint of [
      "http://127.0.0.1:9000",
      "10.0.0.5",
      "https://192.168.0.2:443",
      "[::1]:9000",
      "http://[::ffff:127.0.0.1]:9000",
      "http://[::ffff:7f00:1]",
      "100.64.0.7",
      "http://0.0.0.0:9000",
      "http://2130706433", // 127.0.0.1 in decimal, normalized by the URL parser
    ]) {
      await expect(guardEndpoint(endpoint, { ...deny, resolve }), endpoint).rejects.toBeInstanceOf(
        EndpointNotAllowedError,
      );
    }
    expect(resolve).not.toHaveBeenCalled();
  });

  it("refuses a hostname that resolves to 127.0.0.1 (localhost, real DNS)", async () => {
    const error = await guardEndpoint("http://localhost:9000", deny).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointNotAllowedError);
    expect((error as EndpointNotAllowedError).reason).toBe("forbidden_address");
    expect((error as EndpointNotAllowedError).problem).toBe("loopback");
    expect((error as Error).message).toMatch(/^The endpoint localhost \((127\.0\.0\.1|::1)\) is a loopback address/);
    expect((error as Error).message).toContain("WIRE_ALLOW_PRIVATE_ENDPOINTS=true");
  });

  it("refuses when ANY resolved address is refused", async () => {
    await expect(
      guardEndpoint("s3.example.com", { ...deny, resolve: answers("52.216.8.10", "10.0.0.1") }),
    ).rejects.toMatchObject({ reason: "forbidden_address", address: "10.0.0.1", problem: "private" });
    await expect(
      guardEndpoint("s3.example.com", { ...deny, resolve: answers("2600:1f18::1", "::ffff:192.168.1.1") }),
    ).rejects.toMatchObject({ problem: "private" });
  });

  it("refuses cloud metadata addresses even when private endpoints are allowed", async () => {
    for (const endpoint of ["http://169.254.169.254", "http://[fd00:ec2::254]", "http://[::ffff:169.254.169.254]"]) {
      await expect(guardEndpoint(endpoint, allow), endpoint).rejects.toMatchObject({ problem: "cloud metadata" });
    }
    await expect(
      guardEndpoint("metadata.example.com", { ...allow, resolve: answers("169.254.169.254") }),
    ).rejects.toThrow("is a cloud metadata address");
  });

  it.each([
    "169.254.170.2", // ECS task credentials
    "169.254.170.23", // EKS Pod Identity
    "fd00:ec2::23", // EKS Pod Identity, IPv6
    "168.63.129.16", // Azure WireServer: public, so no other rule refuses it
    "::ffff:169.254.170.2",
    "64:ff9b::a83f:8110", // NAT64 form of 168.63.129.16
  ])("refuses the container-credential address %s whatever the private-endpoint setting", async (address) => {
    expect(addressProblem(address)).toBe("cloud metadata");
    const endpoint = address.includes(":") ? `http://[${address}]` : `http://${address}`;
    for (const setting of [allow, deny]) {
      await expect(guardEndpoint(endpoint, setting), endpoint).rejects.toMatchObject({ problem: "cloud metadata" });
    }
    await expect(guardEndpoint("creds.example.com", { ...allow, resolve: answers(address) })).rejects.toMatchObject({
      reason: "forbidden_address",
      problem: "cloud metadata",
    });
  });

  it("refuses every address of the metadata list with private endpoints allowed", async () => {
    for (const range of METADATA_ADDRESSES) {
      const address = range.split("/")[0]!;
      const endpoint = address.includes(":") ? `http://[${address}]` : `http://${address}`;
      await expect(guardEndpoint(endpoint, allow), endpoint).rejects.toMatchObject({ problem: "cloud metadata" });
    }
  });

  it("allows private addresses when allowed", async () => {
    const pinned = await guardEndpoint("http://127.0.0.1:9000", allow);
    expect(pinned).toEqual({
      origin: "http://127.0.0.1:9000",
      protocol: "http:",
      hostname: "127.0.0.1",
      addresses: [{ address: "127.0.0.1", family: 4 }],
      address: "127.0.0.1",
    });
    await expect(guardEndpoint("minio.lan", { ...allow, resolve: answers("192.168.1.20") })).resolves.toMatchObject({
      address: "192.168.1.20",
    });
  });

  it("defaults to WIRE_ALLOW_PRIVATE_ENDPOINTS (true in the test run, false otherwise)", async () => {
    expect(parseEnv({}).WIRE_ALLOW_PRIVATE_ENDPOINTS).toBe(false);
    expect(parseEnv({ WIRE_ALLOW_PRIVATE_ENDPOINTS: "true" }).WIRE_ALLOW_PRIVATE_ENDPOINTS).toBe(true);
    expect(() => parseEnv({ WIRE_ALLOW_PRIVATE_ENDPOINTS: "sometimes" })).toThrow(/WIRE_ALLOW_PRIVATE_ENDPOINTS/);
    expect(env().WIRE_ALLOW_PRIVATE_ENDPOINTS).toBe(true); // set by server/test/global-setup.ts
    await expect(guardEndpoint("http://127.0.0.1:9000")).resolves.toMatchObject({ address: "127.0.0.1" });
  });

  it("passes public endpoints and normalizes them", async () => {
    const resolve = vi.fn(answers("104.18.1.1", "2606:4700::6812:101"));
    const pinned = await guardEndpoint("ACCOUNT.r2.cloudflarestorage.com", { ...deny, resolve });
    expect(resolve).toHaveBeenCalledExactlyOnceWith("account.r2.cloudflarestorage.com");
    expect(pinned).toMatchObject({
      origin: "https://account.r2.cloudflarestorage.com",
      protocol: "https:",
      hostname: "account.r2.cloudflarestorage.com",
      address: "104.18.1.1",
    });
    expect(pinned.addresses).toHaveLength(2);
  });

  it("refuses invalid endpoints and passes DNS failures through", async () => {
    await expect(guardEndpoint("ftp://files.example.com", deny)).rejects.toMatchObject({ reason: "invalid" });
    const notFound = Object.assign(new Error("getaddrinfo ENOTFOUND nope.example"), { code: "ENOTFOUND" });
    await expect(
      guardEndpoint("nope.example", {
        ...deny,
        resolve: () => Promise.reject(notFound),
      }),
    ).rejects.toBe(notFound);
    await expect(guardEndpoint("empty.example", { ...deny, resolve: answers() })).rejects.toMatchObject({
      code: "ENOTFOUND",
    });
  });
});

describe("pinned lookup", () => {
  it("answers with the checked address even when DNS would now answer differently", async () => {
    let calls = 0;
    const rebinding: Resolver = async () => (calls++ === 0 ? answers("93.184.216.34")("") : answers("127.0.0.1")(""));
    const pinned = await guardEndpoint("https://rebind.example.com", { ...deny, resolve: rebinding });
    expect(await rebinding("rebind.example.com")).toEqual([{ address: "127.0.0.1", family: 4 }]); // DNS changed
    const lookup = pinnedLookup(pinned);

    const one = await new Promise<[unknown, unknown, unknown]>((resolve) =>
      lookup("rebind.example.com", {}, (err, address, family) => resolve([err, address, family])),
    );
    expect(one).toEqual([null, "93.184.216.34", 4]);
    const all = await new Promise<[unknown, unknown]>((resolve) =>
      lookup("REBIND.example.com", { all: true }, (err, addresses) => resolve([err, addresses])),
    );
    expect(all).toEqual([null, [{ address: "93.184.216.34", family: 4 }]]);
    expect(calls).toBe(2); // the guard's one lookup + the check above; the pinned lookup never asked
  });

  it("refuses other hostnames and missing families", async () => {
    const lookup = pinnedLookup({ hostname: "s3.example.com", addresses: [{ address: "52.216.8.10", family: 4 }] });
    const other = await new Promise<unknown>((resolve) => lookup("evil.example.com", {}, (err) => resolve(err)));
    expect(other).toBeInstanceOf(EndpointNotAllowedError);
    const v6 = await new Promise<unknown>((resolve) => lookup("s3.example.com", { family: 6 }, (err) => resolve(err)));
    expect(v6).toMatchObject({ code: "ENOTFOUND" });
  });

  describe("through a real HTTP connection", () => {
    let server: http.Server;
    let port: number;
    const hosts: string[] = [];
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        hosts.push(req.headers.host ?? "");
        res.end("pinned");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("connects to the pinned address; the Host header stays the hostname", async () => {
      let calls = 0;
      // A name that exists in no DNS: the request can only succeed through the pinned lookup.
      const resolve: Resolver = async () => (calls++ === 0 ? answers("127.0.0.1")("") : answers("10.9.9.9")(""));
      const pinned = await guardEndpoint(`http://bucket-host.wire.invalid:${port}`, { ...allow, resolve });
      const agent = createPinnedAgent(pinned, { keepAlive: false });
      for (let i = 0; i < 2; i++) {
        const body = await new Promise<string>((done, fail) => {
          http
            .get({ host: "bucket-host.wire.invalid", port, path: "/", agent }, (res) => {
              let text = "";
              res.on("data", (c: Buffer) => (text += c.toString()));
              res.on("end", () => done(text));
            })
            .on("error", fail);
        });
        expect(body).toBe("pinned");
      }
      expect(hosts).toEqual([`bucket-host.wire.invalid:${port}`, `bucket-host.wire.invalid:${port}`]);
      expect(calls).toBe(1);
      agent.destroy();
    });
  });
});
