import { findOnPath, firstLine, runProgram } from "./exec.js";
import { agentOutput, trialInLane } from "./trial.js";
import { type CheckGroup, fail, ok, warn } from "./types.js";

// bubblewrap's own words (bubblewrap.c) when the kernel or AppArmor refuses it a user namespace.
const USERNS_REFUSED =
  /No permissions to creating new namespace|setting up uid map: Permission denied|Creating new namespace failed|unprivileged user namespaces/i;

const USERNS_FIX =
  "allow unprivileged user namespaces: Debian `sysctl kernel.unprivileged_userns_clone=1`; Ubuntu 23.10+ `sysctl kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor profile for bwrap; NixOS `security.allowUserNamespaces = true`";

/** `bwrap` is on the PATH and the real sandbox of a run starts here (`true` inside it). */
export const sandboxChecks: CheckGroup = async (ctx) => {
  if (ctx.config.agent.sandbox === "none") {
    return [
      warn(
        "sandbox",
        'agent.sandbox is "none": the agent runs unsandboxed and can read every secret the service can (forge token, deploy key, $CREDENTIALS_DIRECTORY, the database), and processes it detaches survive a kill',
        'install bubblewrap and set agent.sandbox to "bubblewrap"',
      ),
    ];
  }
  const bwrap = findOnPath("bwrap", ctx.path);
  if (bwrap === undefined) {
    return [
      fail(
        "sandbox",
        "bwrap not found on PATH",
        'install bubblewrap (Debian/Ubuntu: apt install bubblewrap; NixOS: the module puts it on the PATH), or set agent.sandbox to "none" (unprotected)',
      ),
    ];
  }
  const version = await runProgram(bwrap, ["--version"], { env: { PATH: ctx.path }, timeoutMs: 10_000 });
  const found = version.code === 0 ? `${firstLine(version.stdout)} at ${bwrap}` : `bwrap at ${bwrap}`;
  const trial = await trialInLane(ctx, { command: "true", args: [] });
  if (!trial.started) return [fail("sandbox", `${found}: cannot start it: ${trial.error}`, USERNS_FIX)];
  if (trial.result.exitCode === 0) return [ok("sandbox", `${found}; a sandboxed run starts here`)];
  const said = agentOutput(trial.log);
  if (USERNS_REFUSED.test(said)) {
    return [
      fail(
        "sandbox",
        `${found} cannot create the sandbox: user namespaces are refused here (${firstLine(said, 300)})`,
        USERNS_FIX,
      ),
    ];
  }
  return [
    fail(
      "sandbox",
      `${found}: the sandbox exited ${trial.result.exitCode ?? trial.result.signal} (${firstLine(said, 300) || "no output"})`,
      "as the service's user, run `bwrap --unshare-pid --die-with-parent --ro-bind / / --dev /dev --proc /proc true` to see bwrap's own message",
    ),
  ];
};
