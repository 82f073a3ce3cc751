/**
 * Tells the main thread about closed connections with at most one message per event-loop
 * turn: under `Connection: close` load a turn closes many, and a message per connection would
 * cost as much as its request.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ThreadToMain } from './messages.js';

export class ReportBatcher {
  private closed = 0;
  private scheduled = false;

  constructor(private readonly port: MessagePort) {}

  connectionClosed(): void {
    this.closed += 1;
    this.schedule();
  }

  /** Send what is pending now (before a 'stopped' message, so the count arrives first). */
  flush(): void {
    this.scheduled = false;
    if (this.closed === 0) return;
    const message: ThreadToMain = { type: 'report', closed: this.closed };
    this.closed = 0;
    this.port.postMessage(message);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }
}
