import { networkWarning } from "../agent/egress/warning.js";
import { type CheckGroup, ok, warn } from "./types.js";

/** The agent's network: the egress allowlist is ok; the host's network is a warning saying what it opens. */
export const networkChecks: CheckGroup = async (ctx) => {
  const message = networkWarning(ctx.config.agent);
  if (message === undefined) {
    const extra = ctx.config.agent.allowedHosts;
    return [
      ok(
        "agent network",
        `own network namespace; out only to the model's endpoints${extra.length ? ` and ${extra.join(", ")}` : ""} through the run's egress proxy`,
      ),
    ];
  }
  return [
    warn("agent network", message, 'set agent.network to "allowlist" (and agent.sandbox to "bubblewrap")'),
  ];
};
