import type { Logger } from "pino";
import type { Inspector } from "./inspect.js";
import { checkReport, isProblem, type Report } from "./report.js";

/** The inspection channel (issue 20) as the deployment poller uses it. */
export type InspectorLike = Pick<Inspector, "hosts" | "run">;

/** The argv run on each host: NixOS prints its versions and `configurationRevision` as JSON. */
export const NIXOS_VERSION_ARGV = ["nixos-version", "--json"];

/**
 * `configurationRevision` from `nixos-version --json`, or why there is none. NixOS prints it when
 * the system sets `system.configurationRevision` (the flake idiom `self.rev or self.dirtyRev`).
 */
export function revisionFromNixosVersion(stdout: string): { revision: string } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    return { error: "nixos-version --json printed no JSON" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return { error: "nixos-version --json printed no JSON object" };
  const rev = (parsed as Record<string, unknown>).configurationRevision;
  if (rev === undefined || rev === null || rev === "")
    return {
      error:
        "no configurationRevision: set system.configurationRevision = self.rev or self.dirtyRev or null; in the flake",
    };
  if (typeof rev !== "string") return { error: "configurationRevision is not a string" };
  return { revision: rev };
}

/**
 * Asks every configured host what it runs, through the inspection channel (not an agent inspection:
 * no `inspected` event). A host that cannot answer costs a warning; the others still report.
 */
export async function pollHosts(
  inspector: InspectorLike,
  log: Logger,
  signal?: AbortSignal,
): Promise<Report[]> {
  const reports: Report[] = [];
  for (const host of inspector.hosts()) {
    const r = await inspector.run(host, NIXOS_VERSION_ARGV, signal ? { signal } : {});
    if (!r.ok || r.exitCode !== 0) {
      const why = r.ok ? `exit ${r.exitCode}: ${r.stderr.trim().split("\n")[0] ?? ""}` : r.error;
      log.warn({ host, event: "deploy_poll_failed" }, `asking ${host} for its revision failed: ${why}`);
      continue;
    }
    const found = revisionFromNixosVersion(r.stdout);
    if ("error" in found) {
      log.warn({ host, event: "deploy_poll_failed" }, `${host}: ${found.error}`);
      continue;
    }
    const report = checkReport({ host, revision: found.revision, status: "done", source: "inspect" });
    if (isProblem(report)) {
      log.warn({ host, event: "deploy_poll_failed" }, `${host}: ${report.field} ${report.message}`);
      continue;
    }
    reports.push(report);
  }
  return reports;
}
