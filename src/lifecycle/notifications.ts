import type { IncidentDeps } from "../incidents/deps.js";
import type { Notification, Notifier } from "../notify/ntfy.js";
import { maxEventId, type NotableEvent, notableEvents } from "./lifecycle.repo.js";

/** Sends still queued beyond this are dropped (a long ntfy outage must not grow memory). */
const MAX_QUEUED = 100;

/** Turns incident events into push notifications, without ever making the caller wait for them. */
export interface NotificationFeed {
  /** Reads events since the last call and queues their notifications; returns how many were queued. */
  poll(): Promise<number>;
  /** Resolves when every queued notification was sent or given up on. */
  idle(): Promise<void>;
}

/** The notification for an event, or null when it is not one we tell about. */
export function notificationFor(e: NotableEvent): Notification | null {
  const where = e.service ? ` (${e.service})` : "";
  if (e.to === "needs_human") {
    return {
      title: `Needs a human: ${e.title}`,
      message: `Incident ${e.incident_id}${where}: ${e.message}`,
      tags: ["warning", "homelab-healer"],
      click: e.pr_url,
    };
  }
  if (e.kind === "pr_opened") {
    return {
      title: `PR opened: ${e.title}`,
      message: `Incident ${e.incident_id}${where}: ${e.message}${e.pr_url ? `\n${e.pr_url}` : ""}`,
      tags: ["wrench", "homelab-healer"],
      click: e.pr_url,
    };
  }
  if (e.kind === "committed") {
    return {
      title: `Change ready (dry run): ${e.title}`,
      message: `Incident ${e.incident_id}${where}: ${e.message}`,
      tags: ["wrench", "homelab-healer"],
    };
  }
  if (e.kind === "follow_up") {
    return {
      title: `Follow-up started: ${e.title}`,
      message: `Incident ${e.incident_id}${where}: ${e.message}`,
      tags: ["repeat", "homelab-healer"],
      click: e.pr_url,
    };
  }
  return null;
}

/**
 * Follows incident_events from a cursor (events from before this process started are never sent) and
 * sends PR opened, needs human and follow-up notifications one after the other in the background.
 * A failing or hanging notifier (each send has its own timeout) only costs a warning.
 */
export function createNotificationFeed(deps: IncidentDeps, notifier: Notifier): NotificationFeed {
  const startedAt = deps.clock.now();
  let cursor: number | undefined;
  let queued = 0;
  let chain: Promise<void> = Promise.resolve();

  return {
    async poll() {
      cursor ??= await maxEventId(deps.db, startedAt);
      const upTo = await maxEventId(deps.db);
      if (upTo <= cursor) return 0;
      const events = await notableEvents(deps.db, cursor, upTo);
      cursor = upTo;
      let n = 0;
      for (const e of events) {
        const note = notificationFor(e);
        if (!note) continue;
        if (queued >= MAX_QUEUED) {
          deps.log.warn({ incident: e.incident_id, event: e.kind }, "notification dropped: too many queued");
          continue;
        }
        queued++;
        n++;
        chain = chain
          .then(() => notifier.send(note))
          .catch((err: unknown) =>
            deps.log.warn({ err, incident: e.incident_id, event: e.kind }, "notification not delivered"),
          )
          .finally(() => {
            queued--;
          });
      }
      return n;
    },
    idle: () => chain,
  };
}
