/** Large request bodies for limit tests, generated as they are read so the test itself holds no copy. */

/** A body of `prefix`, then `size` bytes, then `suffix`, in 64 KiB chunks; `onPull` runs before each chunk. */
export function generatedBody(
  size: number,
  options: { prefix?: string; suffix?: string; onPull?: () => void } = {},
): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(97);
  let sent = 0;
  let stage: "prefix" | "body" | "suffix" | "done" = options.prefix ? "prefix" : "body";
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      options.onPull?.();
      if (stage === "prefix") {
        controller.enqueue(new TextEncoder().encode(options.prefix));
        stage = "body";
      } else if (stage === "body") {
        const n = Math.min(chunk.length, size - sent);
        // The same bytes each time, so the generator itself allocates nothing; a consumer that keeps the body
        // (arrayBuffer(), formData()) still has to copy every chunk into memory of its own.
        controller.enqueue(n === chunk.length ? chunk : chunk.subarray(0, n));
        sent += n;
        if (sent >= size) stage = options.suffix ? "suffix" : "done";
      } else if (stage === "suffix") {
        controller.enqueue(new TextEncoder().encode(options.suffix));
        stage = "done";
      } else {
        controller.close();
      }
    },
  });
}

/** Samples resident memory while `run` goes; returns its result and the peak growth over the start, in bytes. */
export async function measureRssGrowth<T>(
  run: (sample: () => void) => Promise<T>,
): Promise<{ result: T; growth: number }> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const result = await run(sample);
  sample();
  return { result, growth: peak - start };
}
