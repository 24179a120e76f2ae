/** A run outcome as people read it: a dry run's `committed` says that it was one. */
export function outcomeLabel(outcome: string): string {
  return outcome === "committed" ? "committed (dry run)" : outcome;
}
