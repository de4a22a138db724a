import { describe, expect, it } from "vitest";
import { isPostgresUrl, redactMessage, redactUrl } from "./url.js";

describe("postgres URLs", () => {
  it("selects the engine by scheme", () => {
    expect(isPostgresUrl("postgres://h/db")).toBe(true);
    expect(isPostgresUrl("postgresql://h/db")).toBe(true);
    expect(isPostgresUrl("./.switchyard")).toBe(false);
    expect(isPostgresUrl("/var/lib/postgres://x")).toBe(false);
  });

  it("hides the password, and only it", () => {
    expect(redactUrl("postgres://app:s3cr%40t@db.internal:5432/switchyard?sslmode=require")).toBe(
      "postgres://app:***@db.internal:5432/switchyard?sslmode=require",
    );
    expect(redactUrl("postgres://app@db/switchyard")).toBe("postgres://app@db/switchyard");
    expect(redactUrl("postgres://app:pw@[bad")).toBe("postgres://app:***@[bad");
  });

  it("hides a password given as a query parameter, raw and decoded", () => {
    const url = "postgres://app@db/x?sslmode=require&password=s3cr%40t";
    expect(redactUrl(url)).toBe("postgres://app@db/x?sslmode=require&password=***");
    expect(redactMessage("password s3cr@t rejected", url)).toBe("password *** rejected");
  });

  it("removes the password from a driver's message, raw or decoded", () => {
    const url = "postgres://app:s3cr%40t@db/x";
    expect(redactMessage(`failed for ${url}: s3cr@t rejected`, url)).toBe(
      "failed for postgres://app:***@db/x: *** rejected",
    );
  });
});
