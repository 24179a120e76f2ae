import { findOnPath, firstLine, runProgram } from "./exec.js";
import { type CheckGroup, type CheckResult, fail, ok, warn } from "./types.js";

/** git, rg, the validate command's program and the programs `agent.allowedCommands` names. */
export const programChecks: CheckGroup = async (ctx) => {
  const { path } = ctx;
  const results: CheckResult[] = [];
  const git = findOnPath("git", path);
  if (git === undefined) {
    results.push(
      fail("git", "git not found on PATH", "install git: every run fetches, commits and pushes with it"),
    );
  } else {
    const v = await runProgram(git, ["--version"], { env: { PATH: path }, timeoutMs: 10_000 });
    results.push(ok("git", `${firstLine(v.stdout) || "git"} at ${git}`));
  }
  const rg = findOnPath("rg", path);
  results.push(
    rg === undefined
      ? warn(
          "rg",
          "rg (ripgrep) not found on PATH",
          "install ripgrep: without it OpenCode's grep and glob tools try to download it at every run",
        )
      : ok("rg", `rg at ${rg}`),
  );
  const validate = ctx.config.validate.command;
  if (validate === undefined) {
    results.push(ok("validate", "validate.command not set: changes are not validated before the PR"));
  } else {
    const program = validate[0]!;
    const at = findOnPath(program, path);
    results.push(
      at === undefined
        ? fail(
            "validate",
            `validate.command's program ${program} not found on PATH`,
            `install ${program} for the service (NixOS: services.homelabHealer.extraPackages), or change validate.command`,
          )
        : ok("validate", `${validate.join(" ")} (${at})`),
    );
  }
  const programs = [...new Set(ctx.config.agent.allowedCommands.map((c) => c.trim().split(/\s+/)[0]!))];
  const missing = programs.filter((p) => p !== "" && !p.includes("*") && findOnPath(p, path) === undefined);
  results.push(
    missing.length > 0
      ? warn(
          "allowedCommands",
          `not on PATH: ${missing.join(", ")} (the agent is denied them anyway)`,
          "install them for the service (NixOS: services.homelabHealer.extraPackages), or drop them from agent.allowedCommands",
        )
      : ok("allowedCommands", `all ${programs.length} programs found: ${programs.join(", ")}`),
  );
  return results;
};
