/**
 * The cap on introspection calls: at most `calls` in each `window` of milliseconds (a fixed
 * window, so a burst across a boundary may reach twice the cap, never more). The cache and the
 * single flight come first (introspector.ts), so only tokens never seen count: what a flood of
 * made-up tokens can make us send the authorization server is the cap, whatever the flood.
 */
export class CallRateLimit {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    private readonly calls: number,
    private readonly window: number,
  ) {}

  /** Takes one call at `now` (ms): undefined when allowed, else the milliseconds until the window ends. */
  take(now: number): number | undefined {
    if (now - this.windowStart >= this.window || now < this.windowStart) {
      this.windowStart = now;
      this.used = 0;
    }
    if (this.used >= this.calls) return this.windowStart + this.window - now;
    this.used++;
    return undefined;
  }
}
