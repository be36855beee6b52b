/** A push queue read as an async iterable: producers push, one consumer iterates until close. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting?: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void };
  private closed = false;
  private failure?: { error: unknown };
  private stopped = false;
  /** called once, when the consumer stops early (break, return) or the queue is closed */
  onStop?: () => void;

  push(item: T): void {
    if (this.closed) return;
    const w = this.waiting;
    this.waiting = undefined;
    if (w) w.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  /** Ends the iteration once the items already pushed are read; with an error, the iteration fails with it. */
  close(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    if (error !== undefined) this.failure = { error };
    const w = this.waiting;
    this.waiting = undefined;
    if (w) this.finish(w);
    this.stop();
  }

  private finish(w: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }): void {
    const f = this.failure;
    this.failure = undefined;
    if (f) w.reject(f.error);
    else w.resolve({ value: undefined, done: true });
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.onStop?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length) return Promise.resolve({ value: this.items.shift()!, done: false });
        return new Promise<IteratorResult<T>>((resolve, reject) => {
          if (this.closed) this.finish({ resolve, reject });
          else this.waiting = { resolve, reject };
        });
      },
      return: () => {
        this.closed = true;
        this.items.length = 0;
        this.stop();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
