import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FORGE_KINDS } from "../support/forges.js";
import { type Healer, startHealer } from "../support/serve.js";

describe.each(FORGE_KINDS)("validation fails twice on %s (drafts on, the default)", (kind) => {
  let h: Healer;
  beforeAll(async () => {
    h = await startHealer({
      forge: kind,
      agentMode: "break-validation",
      config: (b) => ({
        ...b,
        validate: {
          command: [
            "sh",
            "-c",
            "if [ -e broken.nix ]; then echo 'error: syntax error, unexpected end of file in broken.nix'; exit 1; fi",
          ],
        },
      }),
    });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("gives the agent one more turn with the output, then opens a draft PR carrying the validation log", async () => {
    const res = await h.post("generic", { name: "build-broken", service: "nginx.service", host: "nas" });
    const id = ((await res.json()) as { incidents: number[] }).incidents[0]!;
    const d = await h.waitFor("the draft PR", async () => {
      const x = (
        await h.api<{
          incident: { state: string };
          runs: { id: number; outcome: string; validation: string }[];
        }>(`/incidents/${id}`)
      ).body;
      return x.incident.state === "pr_open" ? x : undefined;
    });
    expect(d.runs[0]).toMatchObject({ outcome: "pr_opened", validation: "failed" });
    const pr = h.github.prs[0]!;
    expect(pr.draft).toBe(true);
    expect(pr.body).toContain("**FAILED**");
    expect(pr.body).toContain("syntax error, unexpected end of file in broken.nix");
    // Two agent turns: the second prompt carried the validation output.
    const runDir = join(h.config.stateDir, "runs", String(d.runs[0]!.id));
    expect(readFileSync(join(runDir, "prompt.md"), "utf8")).toContain("unexpected end of file in broken.nix");
    expect(readFileSync(join(runDir, "validate.log"), "utf8").match(/\[exit 1\]/g)).toHaveLength(2);
  });
});
