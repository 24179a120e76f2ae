/** One push notification. */
export interface Notification {
  title: string;
  message: string;
  tags: string[];
  /** Opened when the notification is tapped (the PR). */
  click?: string | null;
}

/** Sends notifications somewhere; failures are the caller's to log, never to retry forever. */
export interface Notifier {
  send(n: Notification): Promise<void>;
}

/** Why a notification was not delivered. */
export class NotifyError extends Error {
  override readonly name = "NotifyError";
  constructor(
    readonly code: "notify_unavailable" | "notify_rejected",
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }
}

/**
 * Header values must be ASCII (latin-1 at most); ntfy decodes RFC 2047 encoded words in Title, Message
 * and Tags, so anything else travels base64-encoded.
 */
export function headerValue(text: string): string {
  const oneLine = text.replace(/[\r\n]+/g, " ").trim();
  if (/^[\x20-\x7e]*$/.test(oneLine)) return oneLine;
  return `=?UTF-8?B?${Buffer.from(oneLine, "utf8").toString("base64")}?=`;
}

/** Publishes to ntfy: `POST <url>/<topic>`, the message as the body, the rest as headers. */
export function createNtfy(opts: {
  url: string;
  topic: string;
  token?: string;
  timeoutMs?: number;
}): Notifier {
  const target = `${opts.url.replace(/\/+$/, "")}/${encodeURIComponent(opts.topic)}`;
  const timeoutMs = opts.timeoutMs ?? 5000;
  return {
    async send(n) {
      const headers: Record<string, string> = {
        "content-type": "text/plain; charset=utf-8",
        Title: headerValue(n.title),
        Tags: headerValue(n.tags.join(",")),
      };
      if (n.click) headers.Click = n.click;
      if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
      let res: Response;
      try {
        res = await fetch(target, {
          method: "POST",
          headers,
          body: n.message,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (e) {
        throw new NotifyError("notify_unavailable", `ntfy ${target}: ${(e as Error).message}`, { cause: e });
      }
      // Drain the body so the connection is released.
      const text = await res.text().catch(() => "");
      if (!res.ok) {
        throw new NotifyError(
          res.status >= 500 ? "notify_unavailable" : "notify_rejected",
          `ntfy ${target}: ${res.status} ${text.slice(0, 200)}`,
        );
      }
    },
  };
}
