import { agentChecks } from "./agent.js";
import { sandboxChecks } from "./bwrap.js";
import { databaseChecks } from "./database.js";
import { forgeChecks } from "./forge.js";
import { hostChecks } from "./hosts.js";
import { modelChecks } from "./model.js";
import { networkChecks } from "./network.js";
import { notifyChecks, secretChecks } from "./notify.js";
import { programChecks } from "./programs.js";
import { repoChecks } from "./repo.js";
import { secretValues } from "./secrets.js";
import type { CheckGroup, CheckResult, PreflightContext } from "./types.js";

/** Every group, in the order doctor prints them. */
const GROUPS: [string, CheckGroup][] = [
  ["secrets", secretChecks],
  ["database", databaseChecks],
  ["sandbox", sandboxChecks],
  ["agent", agentChecks],
  ["network", networkChecks],
  ["programs", programChecks],
  ["hosts", hostChecks],
  ["repo", repoChecks],
  ["forge", forgeChecks],
  ["model", modelChecks],
  ["notify", notifyChecks],
];

/**
 * Runs every check (groups at once; each is independent) and returns their results in a fixed order.
 * A check that throws becomes a FAIL naming it, never an exception; any secret value that found its
 * way into a message is blanked.
 */
export async function runPreflight(ctx: PreflightContext): Promise<CheckResult[]> {
  const groups = await Promise.all(
    GROUPS.map(async ([name, group]) => {
      try {
        return await group(ctx);
      } catch (e) {
        return [
          {
            name,
            status: "fail" as const,
            found: `the check itself failed: ${(e as Error).message}`,
            fix: "report this as a bug in homelab-healer",
          },
        ];
      }
    }),
  );
  const secrets = secretValues(ctx.secrets);
  const scrub = (s: string) => secrets.reduce((out, v) => out.replaceAll(v, "***"), s);
  const noRepo = ctx.config.repo.url === undefined;
  return groups.flat().map((r) => {
    // Without repo.url no run ever starts: what only a run needs is not broken yet, just not ready.
    const moot = noRepo && r.status === "fail" && RUN_ONLY.has(r.name);
    return {
      ...r,
      status: moot ? "warn" : r.status,
      found: scrub(moot ? `${r.found} (no run needs it until repo.url is set)` : r.found),
      ...(r.fix !== undefined ? { fix: scrub(r.fix) } : {}),
    };
  });
}

/** Checks only a repair run depends on (not ingest, triage or the API). */
const RUN_ONLY = new Set(["sandbox", "agent", "git", "validate", "model", "model-probe"]);

/** `FAIL sandbox  …  → fix` : one line per check. */
export function formatResults(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  return results
    .map((r) => {
      const status = r.status === "fail" ? "FAIL" : r.status;
      const fix = r.fix !== undefined && r.status !== "ok" ? ` → ${r.fix}` : "";
      return `${status.padEnd(4)} ${r.name.padEnd(width)}  ${r.found}${fix}`;
    })
    .join("\n");
}

/** The failed checks as `name: found`, for /readyz and a triage reason. */
export function failures(results: CheckResult[]): string[] {
  return results.filter((r) => r.status === "fail").map((r) => `${r.name}: ${r.found}`);
}
