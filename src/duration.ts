/** What a duration may look like: said in every refusal, so the fix is in the message. */
export const DURATION_FORMS = "90s, 15m, 2h, 1d, or a combination from days down to seconds such as 1h30m";

const FORM = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;
/** Ten years: a longer silence is a typo, and its expiry would not fit a timestamp anyway. */
const MAX_SECONDS = 10 * 365 * 86_400;

/**
 * `90s`, `15m`, `2h`, `1d`, `1h30m` → seconds. The whole text must be a duration: a bare number,
 * a space (`2 hours`), a unit out of order or a zero is refused with the accepted forms, never
 * read as far as it goes (`2 hours` once became 2 seconds).
 */
export function parseDuration(text: string): { seconds: number } | { error: string } {
  const m = FORM.exec(text);
  const refuse = (why: string) => ({ error: `${why}: ${JSON.stringify(text)}; use ${DURATION_FORMS}` });
  if (!m || text === "") return refuse("not a duration");
  const [d = 0, h = 0, min = 0, s = 0] = m.slice(1).map((v) => Number(v ?? 0));
  const seconds = d * 86_400 + h * 3600 + min * 60 + s;
  if (seconds === 0) return refuse("a duration must be longer than zero");
  if (seconds > MAX_SECONDS) return refuse("longer than ten years");
  return { seconds };
}

/** Seconds as the largest units that fit exactly (`5400` → `1h30m`): how a duration is shown. */
export function formatDuration(seconds: number): string {
  let rest = Math.round(seconds);
  let out = "";
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || "0s";
}
