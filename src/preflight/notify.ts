import { type CheckGroup, type CheckResult, fail, ok, warn } from "./types.js";

/** ntfy answers when configured; the API token and GitHub webhook secret files are readable. */
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
  const hook = ctx.secretProblems["auth.github.webhookSecretFile"];
  if (hook !== undefined) {
    results.push(
      fail("github-webhook", `auth.github.webhookSecretFile: ${hook}`, "point it at the webhook's secret"),
    );
  } else if (ctx.config.auth.github.webhookSecretFile !== undefined) {
    results.push(ok("github-webhook", "secret set: POST /hooks/github takes PR events"));
  } else {
    results.push(
      ok(
        "github-webhook",
        `no webhook secret: PR state comes from polling every ${ctx.config.lifecycle.prPollSeconds} s`,
      ),
    );
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
  ];
  const problems = Object.entries(ctx.secretProblems).filter(([k]) => !own.includes(k));
  if (problems.length === 0) return [ok("secrets", "the token files are readable")];
  return problems.map(([key, why]) =>
    fail("secrets", `${key}: ${why}`, `make ${key} name a readable, non-empty file`),
  );
};
