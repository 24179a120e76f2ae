import { html } from "hono/html";

/** What every view returns: HTML whose interpolations hono has escaped. */
export type Html = ReturnType<typeof html>;

const pad = (n: number) => String(n).padStart(2, "0");

/** `2026-12-06 07:16 UTC`: what a page without JavaScript shows. */
export function utcText(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** A timestamp: UTC in the markup and on hover; the page's script shows it in the browser's zone. */
export function time(d: Date | null | undefined): Html {
  if (!d) return html`<span class="muted">—</span>`;
  return html`<time datetime="${d.toISOString()}" title="${d.toISOString()}">${utcText(d)}</time>`;
}

/** A state as a word and a colour (never colour alone). */
export function state(s: string | null | undefined): Html {
  if (!s) return html`<span class="muted">—</span>`;
  const slug = s.replace(/[^a-z_]/g, "");
  return html`<span class="state state-${slug}">${s.replace(/_/g, " ")}</span>`;
}

/**
 * A link to a URL the service itself produced (the forge's PR URL), only when it is http(s);
 * anything else is shown as text. URLs in alert text never become links.
 */
export function serviceLink(url: string | null | undefined, text: string): Html {
  if (!url) return html`<span class="muted">—</span>`;
  let ok = false;
  try {
    ok = ["http:", "https:"].includes(new URL(url).protocol);
  } catch {
    ok = false;
  }
  return ok ? html`<a href="${url}" rel="noreferrer noopener">${text}</a>` : html`${text}`;
}

/** A cost in the provider's currency (dollars for every provider OpenCode reports today). */
export function money(n: number): string {
  return `$${n.toFixed(n > 0 && n < 0.01 ? 4 : 2)}`;
}

/** A duration in seconds as `1h 2m` / `3m 4s` / `5s`. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${s}s`;
}

/** Event kinds that record a refusal or a denial: marked on the timeline. */
export function isRefusalKind(kind: string): boolean {
  return /refus|denied|deny|blocked/.test(kind);
}
