/**
 * Bytes of file bodies the process holds at once while it reads them (a sync's downloads, a stored file's
 * processing), counted by their known size: memory stays bounded however large the files and however many
 * functions run at once.
 */
import "server-only";

export const BODY_MEMORY_BYTES = 64 * 1024 * 1024;

/**
 * A byte-weighted semaphore, first come first served: a large body at the head of the queue is not overtaken
 * by small ones (it would wait forever), and one larger than the whole budget waits until it has it to itself.
 * (async-mutex's weighted Semaphore walks every unit of its value on each release: 64M steps per body.)
 */
export class ByteBudget {
  private free: number;
  private readonly waiting: { bytes: number; start: () => void }[] = [];

  constructor(readonly total: number) {
    this.free = total;
  }

  async run<T>(bytes: number, work: () => Promise<T>): Promise<T> {
    const held = Math.min(Math.max(bytes, 0), this.total);
    if (this.waiting.length > 0 || held > this.free) {
      await new Promise<void>((start) => this.waiting.push({ bytes: held, start }));
    } else {
      this.free -= held;
    }
    try {
      return await work();
    } finally {
      this.free += held;
      this.startWaiting();
    }
  }

  /** Bytes held now (for tests). */
  get held(): number {
    return this.total - this.free;
  }

  private startWaiting() {
    for (let next = this.waiting[0]; next && next.bytes <= this.free; next = this.waiting[0]) {
      this.waiting.shift();
      this.free -= next.bytes;
      next.start();
    }
  }
}

const budget = new ByteBudget(BODY_MEMORY_BYTES);

/** Runs `work`, which holds a body of `bytes` in memory, once the process's budget has room for it. */
export function withBodyInMemory<T>(bytes: number, work: () => Promise<T>): Promise<T> {
  return budget.run(bytes, work);
}
