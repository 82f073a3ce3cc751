/**
 * The one place gunicorn-ts touches tsyringe. Every process (the arbiter, each worker) gets its
 * own child container, so plugins can register providers without leaking across tests or
 * reloads. Tokens are symbols: strings would collide with third-party registrations.
 */
import 'reflect-metadata';
import { container as rootContainer, inject, injectable, type DependencyContainer, type InjectionToken } from 'tsyringe';

export { inject, injectable };
export type { DependencyContainer, InjectionToken };

export const TOKENS = Object.freeze({
  /** The process's resolved `Settings`. */
  Settings: Symbol.for('gunicorn-ts.Settings'),
  /** The process's `Logger` (the resolved logger_class instance). */
  Logger: Symbol.for('gunicorn-ts.Logger'),
  /** The arbiter's hooks (`ArbiterHooks`), in the master only. */
  ArbiterHooks: Symbol.for('gunicorn-ts.ArbiterHooks'),
  /** The worker's hooks (`WorkerHooks`), in a worker only. */
  WorkerHooks: Symbol.for('gunicorn-ts.WorkerHooks'),
  /** The app as a request listener, in a worker (or the master with preload_app). */
  App: Symbol.for('gunicorn-ts.App'),
  /** The `WorkerContext` a worker class is built from. */
  WorkerContext: Symbol.for('gunicorn-ts.WorkerContext'),
  /** The `PluginResolver`. */
  PluginResolver: Symbol.for('gunicorn-ts.PluginResolver'),
});

export function createContainer(): DependencyContainer {
  return rootContainer.createChildContainer();
}

/**
 * Build a plugin class. Classes decorated with `@injectable()`/`@inject(TOKEN)` are resolved by
 * the container; an undecorated third-party class is constructed with the given fallback
 * arguments, so plugins compiled without decorator support still load.
 */
export function construct<T>(container: DependencyContainer, cls: new (...args: never[]) => T, fallbackArgs: readonly unknown[]): T {
  const hasInjectionTokens = Reflect.hasOwnMetadata('injectionTokens', cls);
  const inherited = hasInjectionTokens || cls.length !== 0 ? undefined : inheritedInjection(cls);
  if (inherited !== undefined) {
    // A subclass without a constructor of its own (`class MyLogger extends GLogger {}`, plain
    // JS): its implicit one passes everything to the parent's, so it gets the parent's
    // injections. Before, it was built with none, and GLogger's settings were undefined.
    const args = Array.from({ length: inherited.length }, (_, i) => {
      const entry = inherited.tokens[i];
      if (entry === undefined) return fallbackArgs[i];
      // tsyringe stores { token, multiple } descriptors (older versions: the bare token).
      const descriptor: { token: InjectionToken<unknown>; multiple?: boolean } =
        typeof entry === 'object' && entry !== null && 'token' in entry
          ? (entry as { token: InjectionToken<unknown>; multiple?: boolean })
          : { token: entry as InjectionToken<unknown> };
      return descriptor.multiple === true ? container.resolveAll(descriptor.token) : container.resolve(descriptor.token);
    });
    return new (cls as unknown as new (...args: unknown[]) => T)(...args);
  }
  if (hasInjectionTokens || cls.length === 0) {
    try {
      return container.resolve(cls as unknown as InjectionToken<T>);
    } catch (err) {
      if (hasInjectionTokens) throw err;
    }
  }
  return new (cls as unknown as new (...args: unknown[]) => T)(...fallbackArgs);
}

/** The nearest ancestor constructor declared with `@inject` tokens: its tokens by parameter index. */
function inheritedInjection(cls: object): { readonly tokens: Readonly<Record<number, unknown>>; readonly length: number } | undefined {
  for (let parent = Object.getPrototypeOf(cls) as unknown; typeof parent === 'function'; parent = Object.getPrototypeOf(parent)) {
    if (Reflect.hasOwnMetadata('injectionTokens', parent)) {
      return { tokens: Reflect.getOwnMetadata('injectionTokens', parent) as Record<number, unknown>, length: (parent as { length: number }).length };
    }
  }
  return undefined;
}
