import { describe, expect, it } from "vitest";
import { ByteBudget } from "./memory-budget";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe("ByteBudget", () => {
  it("never holds more than its total, whatever the sizes and however many wait", async () => {
    const budget = new ByteBudget(100);
    let peak = 0;
    const sizes = Array.from({ length: 300 }, (_, i) => [1, 7, 30, 64, 99, 250][i % 6]!);
    await Promise.all(
      sizes.map((size) =>
        budget.run(size, async () => {
          peak = Math.max(peak, budget.held);
          await tick();
        }),
      ),
    );
    expect(peak).toBeLessThanOrEqual(100);
    expect(peak).toBeGreaterThan(50); // small ones did run side by side
    expect(budget.held).toBe(0);
  });

  it("runs one larger than the whole budget alone, and small ones that come later do not overtake it", async () => {
    const budget = new ByteBudget(100);
    const order: string[] = [];
    const run = (name: string, bytes: number) =>
      budget.run(bytes, async () => {
        order.push(`${name} in (${budget.held} held)`);
        await tick();
        order.push(`${name} out`);
      });
    await Promise.all([run("small-1", 60), run("huge", 500), run("small-2", 10)]);
    expect(order).toEqual([
      "small-1 in (60 held)",
      "small-1 out",
      "huge in (100 held)",
      "huge out",
      "small-2 in (10 held)",
      "small-2 out",
    ]);
  });

  it("gives back what a failed run held", async () => {
    const budget = new ByteBudget(100);
    await expect(budget.run(80, () => Promise.reject(new Error("download failed")))).rejects.toThrow("download failed");
    expect(budget.held).toBe(0);
    await expect(budget.run(100, () => Promise.resolve("ran"))).resolves.toBe("ran");
  });

  it("passes 100,000 small bodies through a 64 MB budget without waiting on one another", async () => {
    const budget = new ByteBudget(64 * 1024 * 1024);
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 100_000 }, () =>
        budget.run(600, async () => {
          most = Math.max(most, ++running);
          await Promise.resolve();
          running--;
        }),
      ),
    );
    expect(most).toBe(100_000);
    expect(budget.held).toBe(0);
  });
});
