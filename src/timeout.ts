/** Raised when an operation on a dependency does not settle within its budget. */
export class TimeoutError extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`${what} timed out after ${timeoutMs} ms`);
    this.name = "TimeoutError";
  }
}

/**
 * Settles with `promise`, or rejects with TimeoutError after `timeoutMs`. The operation itself
 * is not cancelled, so callers must tolerate it finishing later.
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, timeoutMs)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
