/**
 * The sync worker, as Gunicorn's default: one connection (so one request) at a time per
 * process, `Connection: close` after every response. While it is busy it does not accept:
 * the next connection waits in the kernel queue, where an idle sibling takes it, so one slow
 * or CPU-bound request never delays another that a free worker could serve. A handler that
 * blocks the event loop past `timeout` stops the heartbeat and the master kills the worker;
 * so does one that is still running after `timeout` without blocking (awaiting a hung
 * backend, or never ending its response), as Gunicorn's sync timeout is the length of a request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { inject, injectable, TOKENS, Worker, type AccessLogInfo, type HttpCallbacks, type HttpProtocolOptions, type WorkerContext } from '@gunicorn-ts/core';

@injectable()
export class SyncWorker extends Worker {
  static readonly meta = { name: 'sync' };

  /** When the request being served started (Date.now()), or undefined between requests. */
  private requestSince: number | undefined;

  constructor(@inject(TOKENS.WorkerContext) context: WorkerContext) {
    super(context);
  }

  run(): void {
    this.startAccepting();
  }

  /**
   * The heartbeat says how long the current request has been running: the master counts the
   * worker silent from the request's start, so one still running after `timeout` is killed.
   */
  override notify(): void {
    if (this.requestSince === undefined) super.notify();
    else this.context.send({ type: 'heartbeat', busyForMs: Date.now() - this.requestSince });
  }

  protected connectionLimit(): number {
    return 1;
  }

  /**
   * Retired (HUP, TTOU, max_requests), Gunicorn's sync worker finishes the request it is
   * serving whatever graceful_timeout says: only `timeout` bounds a request, and the master
   * kills one running past it, retiring or not. So the request is not cut here before then.
   */
  protected override gracefulDeadlineMs(): number {
    return Math.max(this.settings.get('graceful_timeout'), this.settings.get('timeout')) * 1000;
  }

  protected override protocolOptions(): HttpProtocolOptions {
    return { ...super.protocolOptions(), keepAlive: false };
  }

  protected override httpCallbacks(): HttpCallbacks {
    const callbacks = super.httpCallbacks();
    return {
      ...callbacks,
      onRequest: (req: IncomingMessage, res: ServerResponse) => {
        const since = Date.now();
        this.requestSince = since;
        // A request whose client went away is over, whether or not the app ever answers it.
        req.socket.once('close', () => {
          if (this.requestSince === since) this.requestSince = undefined;
        });
        callbacks.onRequest?.(req, res);
      },
      onResponse: (req: IncomingMessage, res: ServerResponse, info: AccessLogInfo) => {
        this.requestSince = undefined;
        callbacks.onResponse?.(req, res, info);
      },
    };
  }
}
