import type { Hono } from "hono";
import type { Secrets } from "../config/load.js";
import { createForge, type Forge, noneForge } from "../forge/forge.js";
import type { IncidentDeps } from "../incidents/deps.js";
import { createNtfy, type Notifier } from "../notify/ntfy.js";
import { type CleanupReport, runCleanup } from "./cleanup.js";
import { forgejoHookRouter } from "./forgejo-hook.js";
import { githubHookRouter } from "./github-hook.js";
import { createNotificationFeed } from "./notifications.js";
import { pollPrStates } from "./pr-state.js";
import { stillHappeningHook } from "./still-happening.js";

/** The maintenance loop runs a cleanup pass at most this often (`cleanup()` runs one at any time). */
export const CLEANUP_EVERY_SECONDS = 300;

export interface Lifecycle {
  /** The forge runs push to and lifecycle reads PR state from. */
  forge: Forge;
  /** `POST /hooks/github` when auth.github.webhookSecretFile is set. */
  githubHook?: Hono;
  /** `POST /hooks/forgejo` (Forgejo and Gitea) when auth.forgejo.webhookSecretFile is set. */
  forgejoHook?: Hono;
  /** What the incident rules call back into: the "still happening" comment, closing a PR on dismissal. */
  hooks: Pick<IncidentDeps, "recurrence" | "closePr">;
  /** One pass of the loop-keeping rules (PR polling, notifications, cleanup when due). */
  tick(): Promise<void>;
  /** One cleanup pass now (`homelab-healer cleanup`); a pass already under way is joined, not doubled. */
  cleanup(): Promise<CleanupReport>;
  /** Resolves once background work (PR comments, notifications) has finished: shutdown and tests. */
  idle(): Promise<void>;
}

/** What tests (and nothing else) may replace. */
export interface LifecycleOptions {
  forge?: Forge;
  notifier?: Notifier;
  /** Per-notification timeout; a hanging ntfy costs at most this per message. */
  notifyTimeoutMs?: number;
}

/** Builds the closing-the-loop part: PR state, follow-ups, cleanup, notifications. */
export function createLifecycle(
  deps: IncidentDeps & { secrets: Secrets },
  opts: LifecycleOptions = {},
): Lifecycle {
  const { config, secrets, log } = deps;
  // Without a repo nothing is ever pushed: no forge is needed (the embedded default).
  const forge =
    opts.forge ?? (config.repo.url === undefined ? noneForge : createForge(config, secrets, { logger: log }));
  const background = new Set<Promise<unknown>>();
  const pending = {
    add(p: Promise<unknown>) {
      background.add(p);
      // Both ways: a rejection left on a `finally` chain would be unhandled and end the process.
      const done = () => background.delete(p);
      p.then(done, done);
    },
  };
  const ntfy = config.notify.ntfy;
  const notifier =
    opts.notifier ??
    (ntfy
      ? createNtfy({
          url: ntfy.url,
          topic: ntfy.topic,
          ...(secrets.ntfyToken ? { token: secrets.ntfyToken } : {}),
          ...(opts.notifyTimeoutMs ? { timeoutMs: opts.notifyTimeoutMs } : {}),
        })
      : undefined);
  const feed = notifier ? createNotificationFeed(deps, notifier) : undefined;
  const lastPolled = new Map<number, number>();
  let lastCleanup: number | undefined;
  let cleaning: Promise<CleanupReport> | undefined;

  const cleanup = (): Promise<CleanupReport> => {
    cleaning ??= runCleanup(deps, forge).finally(() => {
      cleaning = undefined;
    });
    return cleaning;
  };
  // One failing part (GitHub down, ntfy down, a git error) never keeps the others from running.
  const guarded = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      log.warn({ err }, `${what} failed; trying again on the next pass`);
    }
  };
  // Every forge but the dry run has PRs to poll, comment on and close.
  const hasPrs = forge.type !== "none";
  const secret = secrets.githubWebhookSecret;
  const forgejoSecret = secrets.forgejoWebhookSecret;

  return {
    forge,
    ...(secret ? { githubHook: githubHookRouter(deps, secret) } : {}),
    ...(forgejoSecret ? { forgejoHook: forgejoHookRouter(deps, forgejoSecret) } : {}),
    hooks: hasPrs
      ? {
          recurrence: { stillHappening: stillHappeningHook(forge, pending) },
          closePr: async (n) => {
            await forge.closePr(n);
          },
        }
      : {},
    async tick() {
      if (hasPrs) await guarded("PR polling", () => pollPrStates(deps, forge, lastPolled));
      if (feed) await guarded("notifications", () => feed.poll());
      const now = deps.clock.now().getTime();
      if (lastCleanup === undefined || now - lastCleanup >= CLEANUP_EVERY_SECONDS * 1000) {
        lastCleanup = now;
        await guarded("cleanup", async () => {
          const r = await cleanup();
          const did = Object.entries(r).filter(([k, v]) => k !== "errors" && v !== 0);
          if (did.length > 0) log.info({ cleanup: Object.fromEntries(did) }, "cleanup pass");
        });
      }
    },
    cleanup,
    async idle() {
      while (background.size > 0) await Promise.allSettled([...background]);
      await feed?.idle();
    },
  };
}
