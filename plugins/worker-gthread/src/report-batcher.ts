/**
 * Tells the main thread about closed connections and finished responses with at most one
 * message per event-loop turn: under load a turn finishes many requests, and a message per
 * request would cost as much as the request.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ThreadToMain } from './messages.js';

export class ReportBatcher {
  private closed = 0;
  private requests = 0;
  private scheduled = false;

  constructor(private readonly port: MessagePort) {}

  connectionClosed(): void {
    this.closed += 1;
    this.schedule();
  }

  requestFinished(): void {
    this.requests += 1;
    this.schedule();
  }

  /** Send what is pending now (before a 'stopped' message, so the counts arrive first). */
  flush(): void {
    this.scheduled = false;
    if (this.closed === 0 && this.requests === 0) return;
    const message: ThreadToMain = { type: 'report', closed: this.closed, requests: this.requests };
    this.closed = 0;
    this.requests = 0;
    this.port.postMessage(message);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }
}
