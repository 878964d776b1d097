import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { boundHeapGrowth } from "./heap-growth";

/** A long-lived set plus steady short-lived garbage, as a backfill allocates; prints the peak heap in MB. */
const churn = (bound: boolean) => `
  ${bound ? "(await import('./server/heap-growth.ts')).boundHeapGrowth();" : ""}
  const live = Array.from({ length: 150000 }, (_, i) => ({ i, s: "x".repeat(200) + i }));
  let recent = [], peak = 0;
  for (let round = 0; round < 1500; round++) {
    for (let j = 0; j < 2000; j++) recent.push({ j, s: "y".repeat(100) + j });
    if (recent.length > 40000) recent = recent.slice(20000);
    if (round % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    peak = Math.max(peak, process.memoryUsage().heapTotal);
  }
  console.log(Math.round(peak / 1048576), live.length);`;

const peakHeapMb = (bound: boolean) =>
  Number(
    execFileSync(process.execPath, ["--conditions=react-server", "--import", "tsx", "-e", churn(bound)], {
      encoding: "utf8",
    }).split(" ")[0],
  );

describe("boundHeapGrowth", () => {
  it("keeps the heap near what is alive under steady allocation", () => {
    const unbounded = peakHeapMb(false);
    const bounded = peakHeapMb(true);
    console.log(`peak heap under churn: ${unbounded} MB by default, ${bounded} MB bounded`);
    expect(bounded).toBeLessThan(unbounded * 0.7);
  }, 60_000);

  it("leaves a growth factor given to node alone", () => {
    expect(boundHeapGrowth(["--heap-growing-percent=80"])).toBe(false);
    expect(boundHeapGrowth(["--heap_growing_percent=80"])).toBe(false);
  });
});
