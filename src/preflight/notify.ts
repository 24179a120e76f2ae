import { type CheckGroup, type CheckResult, fail, ok, type PreflightContext, warn } from "./types.js";

/** ntfy answers when configured; the API token and the GitHub/Forgejo webhook secret files are readable. */
export const notifyChecks: CheckGroup = async (ctx) => {
  const results: CheckResult[] = [];
  const ntfy = ctx.config.notify.ntfy;
  if (ntfy === undefined) {
    results.push(ok("ntfy", "not configured (no notifications)"));
  } else if (ctx.secretProblems["notify.ntfy.tokenFile"] !== undefined) {
    results.push(
      warn(
        "ntfy",
        `notify.ntfy.tokenFile: ${ctx.secretProblems["notify.ntfy.tokenFile"]}`,
        "fix notify.ntfy.tokenFile",
      ),
    );
  } else {
    const url = `${ntfy.url.replace(/\/+$/, "")}/v1/health`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      await res.text().catch(() => "");
      results.push(
        res.status < 500
          ? ok("ntfy", `${ntfy.url} answers (topic ${ntfy.topic})`)
          : warn("ntfy", `${ntfy.url} answered ${res.status}`, "check the ntfy server"),
      );
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      results.push(
        warn(
          "ntfy",
          `${ntfy.url} unreachable (${cause?.code ?? cause?.message ?? (e as Error).message}): notifications will be lost`,
          "check notify.ntfy.url and that the ntfy server is up",
        ),
      );
    }
  }
  results.push(webhookCheck(ctx, "github"));
  if (ctx.config.forge.type === "forgejo" || ctx.config.forge.type === "gitea") {
    results.push(webhookCheck(ctx, "forgejo"));
  }
  return results;
};

/** Every other secret file the config names is readable (API and per-source tokens). */
export const secretChecks: CheckGroup = async (ctx) => {
  const own = [
    "repo.sshKeyFile",
    "forge.tokenFile",
    "agent.environmentFile",
    "notify.ntfy.tokenFile",
    "auth.github.webhookSecretFile",
    "auth.forgejo.webhookSecretFile",
  ];
  const problems = Object.entries(ctx.secretProblems).filter(([k]) => !own.includes(k));
  if (problems.length === 0) return [ok("secrets", "the token files are readable")];
  return problems.map(([key, why]) =>
    fail("secrets", `${key}: ${why}`, `make ${key} name a readable, non-empty file`),
  );
};

/** `auth.<forge>.webhookSecretFile` is readable when set; without it PR state comes from polling. */
function webhookCheck(ctx: PreflightContext, forge: "github" | "forgejo"): CheckResult {
  const key = `auth.${forge}.webhookSecretFile`;
  const name = `${forge}-webhook`;
  const problem = ctx.secretProblems[key];
  if (problem !== undefined) return fail(name, `${key}: ${problem}`, "point it at the webhook's secret");
  if (ctx.config.auth[forge].webhookSecretFile !== undefined) {
    return ok(name, `secret set: POST /hooks/${forge} takes PR events`);
  }
  return ok(
    name,
    `no webhook secret: PR state comes from polling every ${ctx.config.lifecycle.prPollSeconds} s`,
  );
}
