const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** "90", "90s", "30m", "2h", "1d", "1h30m" → seconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t) || undefined;
  if (!/^(\d+[smhdw])+$/.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(/(\d+)([smhdw])/g)) total += Number(m[1]) * UNITS[m[2]!]!;
  return total > 0 ? total : undefined;
}
