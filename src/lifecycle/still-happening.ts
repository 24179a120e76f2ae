import type { Forge } from "../forge/forge.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { countFiringSince } from "../incidents/incidents.repo.js";
import type { RecurrenceHooks } from "../incidents/recurrence.js";
import { recordEvent } from "../incidents/transitions.js";
import { claimComment, releaseComment } from "./lifecycle.repo.js";

/** At most one "still happening" comment per PR and hour (SPEC §6 rule 1). */
export const COMMENT_INTERVAL_SECONDS = 3600;

/** Background work the hooks started, so shutdown and tests can wait for it. */
export interface Pending {
  add(p: Promise<unknown>): void;
}

/**
 * The `stillHappening` recurrence hook: claims the hourly slot at once (a compare-and-set on
 * pr_commented_at, so the limit holds under concurrent deliveries), then posts the comment in the
 * background: the delivery's 202 never waits for GitHub. A comment that fails gives the slot back.
 */
export function stillHappeningHook(forge: Forge, pending: Pending): RecurrenceHooks["stillHappening"] {
  return async (deps: IncidentDeps, incidentId: number, added: number) => {
    const now = deps.clock.now();
    const claim = await claimComment(deps.db, {
      id: incidentId,
      now,
      lastBefore: new Date(now.getTime() - COMMENT_INTERVAL_SECONDS * 1000),
    });
    if (!claim) return;
    pending.add(
      postComment(deps, forge, { incidentId, added, now, ...claim }).catch((err: unknown) =>
        deps.log.warn({ err, incident: incidentId }, "still-happening comment failed"),
      ),
    );
  };
}

async function postComment(
  deps: IncidentDeps,
  forge: Forge,
  c: {
    incidentId: number;
    added: number;
    now: Date;
    previous: Date | null;
    openedAt: Date;
    prNumber: number;
  },
): Promise<void> {
  const since = await countFiringSince(deps.db, c.incidentId, c.openedAt);
  const minutes = Math.max(1, Math.round((c.now.getTime() - c.openedAt.getTime()) / 60_000));
  const body = [
    `**Still happening.** The alert of incident ${c.incidentId} fired again: ${since} time(s) since this PR was opened ${minutes} min ago (${c.added} just now).`,
    "",
    "The fix is not deployed yet, or it does not hold. homelab-healer comments at most once an hour.",
  ].join("\n");
  try {
    const posted = await forge.comment(c.prNumber, body);
    await recordEvent(deps.db, deps.log, {
      incidentId: c.incidentId,
      kind: "comment",
      message: `"still happening" comment on PR #${c.prNumber}: ${since} alert(s) since it opened`,
      data: { pr: c.prNumber, since, url: posted?.url ?? null },
      now: c.now,
    });
  } catch (err) {
    await releaseComment(deps.db, c.incidentId, c.now, c.previous);
    throw err;
  }
}
