/**
 * Polls a status function on an interval while at least one subscriber listens, and hands each
 * result to every subscriber. One poll serves all open Watch calls, so their number does not
 * multiply the load of the health probes.
 */

/** One subscriber's view: the latest status not yet read, and whether the subscription ended. */
export class StatusSubscription<Status> implements AsyncIterableIterator<Status> {
  private pending: { status: Status } | undefined;
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(private readonly onEnd: (subscription: StatusSubscription<Status>) => void) {}

  /** Stores a status for the next read, replacing an unread one, because only the latest matters. */
  push(status: Status): void {
    if (this.ended) return;
    this.pending = { status };
    this.wake?.();
  }

  /** Ends the subscription. A status pushed before stays readable, then iteration stops. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    this.wake?.();
  }

  async next(): Promise<IteratorResult<Status, undefined>> {
    while (this.pending === undefined && !this.ended) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
    if (this.pending !== undefined) {
      const { status } = this.pending;
      this.pending = undefined;
      return { done: false, value: status };
    }
    return { done: true, value: undefined };
  }

  async return(): Promise<IteratorResult<Status, undefined>> {
    this.end();
    this.pending = undefined;
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export class StatusMonitor<Status> {
  private readonly subscriptions = new Set<StatusSubscription<Status>>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  /**
   * @param poll returns the current status. It must not throw.
   * @param intervalMs time between the start of one poll and the next, in milliseconds.
   */
  constructor(
    private readonly poll: () => Promise<Status>,
    private readonly intervalMs: number,
  ) {}

  /** Subscribes to the polled statuses until `signal` aborts or `end` is called on the subscription. */
  subscribe(signal: AbortSignal): StatusSubscription<Status> {
    const onAbort = () => subscription.end();
    const subscription = new StatusSubscription<Status>((ended) => {
      signal.removeEventListener("abort", onAbort);
      this.subscriptions.delete(ended);
      if (this.subscriptions.size === 0) this.stopTimer();
    });
    if (signal.aborted) {
      subscription.end();
      return subscription;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    this.subscriptions.add(subscription);
    this.startTimer();
    return subscription;
  }

  /** Sends `finalStatus` to every subscriber and ends every subscription. */
  endAll(finalStatus: Status): void {
    for (const subscription of [...this.subscriptions]) {
      subscription.push(finalStatus);
      subscription.end();
    }
    this.stopTimer();
  }

  get subscriberCount(): number {
    return this.subscriptions.size;
  }

  private startTimer(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.pollOnce(), this.intervalMs);
    // Open Watch streams keep the process alive, but the timer alone does not.
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Polls once and pushes the result to every subscriber. A tick that finds the previous poll still running does nothing. */
  private async pollOnce(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const status = await this.poll();
      for (const subscription of this.subscriptions) subscription.push(status);
    } finally {
      this.polling = false;
    }
  }
}
