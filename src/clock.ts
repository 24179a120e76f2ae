/** Where "now" comes from: every time rule takes it from here, so tests can move time. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that only moves when told: for tests of time rules. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: Date | string = "2026-11-29T12:00:00Z") {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  advance(seconds: number): Date {
    this.t += seconds * 1000;
    return this.now();
  }
  set(at: Date | string): void {
    this.t = new Date(at).getTime();
  }
}
