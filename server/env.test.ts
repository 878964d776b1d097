import { describe, expect, it } from "vitest";
import { parseEnv } from "./env";

describe("parseEnv", () => {
  it("applies defaults", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ NODE_ENV: "development", WIRE_EMBEDDED_PG_PORT: 54329, WIRE_DATA_DIR: ".data" });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.dataDir).toMatch(/[\\/]\.data$/);
  });

  it("accepts postgres URLs and treats empty values as unset", () => {
    expect(parseEnv({ DATABASE_URL: "postgres://u:p@localhost:5432/wire" }).DATABASE_URL).toBe(
      "postgres://u:p@localhost:5432/wire",
    );
    expect(parseEnv({ DATABASE_URL: "postgresql://localhost/wire" }).DATABASE_URL).toBe("postgresql://localhost/wire");
    expect(parseEnv({ DATABASE_URL: "" }).DATABASE_URL).toBeUndefined();
    expect(parseEnv({ WIRE_EMBEDDED_PG_PORT: "6543" }).WIRE_EMBEDDED_PG_PORT).toBe(6543);
  });

  it.each([
    ["not a URL", "not a url"],
    ["another database", "mysql://localhost/wire"],
    ["http", "http://localhost:5432/wire"],
  ])("rejects a bad DATABASE_URL (%s), naming the variable", (_label, value) => {
    expect(() => parseEnv({ DATABASE_URL: value })).toThrow(/Invalid configuration:[\s\S]*DATABASE_URL/);
  });

  it.each(["abc", "0", "65536", "54.5", "-1"])("rejects a bad port (%s), naming the variable", (value) => {
    expect(() => parseEnv({ WIRE_EMBEDDED_PG_PORT: value })).toThrow(/WIRE_EMBEDDED_PG_PORT/);
  });

  it("names every bad variable at once and nothing that is fine", () => {
    let message = "";
    try {
      parseEnv({ DATABASE_URL: "nope", WIRE_EMBEDDED_PG_PORT: "x", LOG_LEVEL: "info", BETTER_AUTH_SECRET: "short" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/DATABASE_URL/);
    expect(message).toMatch(/WIRE_EMBEDDED_PG_PORT/);
    expect(message).toMatch(/BETTER_AUTH_SECRET: must be at least 32 characters/);
    expect(message).not.toMatch(/LOG_LEVEL/);
  });
});
