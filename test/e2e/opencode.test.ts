import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MockLlm, startMockLlm } from "../support/mock-llm.js";
import {
  JELLYFIN_ALERT as JELLYFIN,
  jellyfinRepairTurns,
  OPENCODE,
  realOpencodeAgent,
} from "../support/real-opencode.js";
import { type Healer, startHealer } from "../support/serve.js";

const HAS_BWRAP = ["/usr/bin/bwrap", "/bin/bwrap"].some((p) => existsSync(p));

describe.runIf(OPENCODE !== undefined && HAS_BWRAP)(
  "an alert becomes a pull request with the real OpenCode",
  () => {
    let h: Healer;
    let mock: MockLlm;
    const stateDir = mkdtempSync(join(tmpdir(), "healer-oc-state-"));
    // A fresh database: the incident and its run are both number 1.
    const worktree = join(stateDir, "worktrees", "incident-1");
    const nix = join(worktree, "hosts/media-01/default.nix");
    const prBody = join(stateDir, "runs", "1", "pr-body.md");

    beforeAll(async () => {
      mock = await startMockLlm([
        { tools: [{ name: "read", args: { filePath: nix } }] },
        {
          tools: [
            {
              name: "bash",
              args: { command: "journalctl -u jellyfin -n 20 --no-pager", description: "logs" },
            },
          ],
        },
        { tools: [{ name: "bash", args: { command: "git push origin HEAD:main", description: "push" } }] },
        ...jellyfinRepairTurns(
          nix,
          prBody,
          "# jellyfin: join the media group so it can read /mnt/media\n\n## What broke\nFFmpeg got Permission denied.\n\n## Root cause\njellyfin is not in the media group.\n\n## Fix\nSupplementaryGroups.\n\n## How it was checked\nRead the unit.\n\n## Risk and rollback\nRevert the commit.\n",
        ),
      ]);
      h = await startHealer({
        stateDir,
        config: (b) => ({
          ...b,
          agent: realOpencodeAgent(mock.baseUrl),
        }),
      });
    }, 60_000);
    afterAll(async () => {
      await h?.stop();
      await mock?.close();
      rmSync(stateDir, { recursive: true, force: true });
    });

    it("edits the Nix definition in its worktree, stays in the lane, and the control plane opens the PR", {
      timeout: 180_000,
    }, async () => {
      const res = await h.post("openobserve", JELLYFIN);
      expect(res.status).toBe(202);
      const detail = await h.waitFor(
        "the PR",
        async () => {
          const d = (
            await h.api<{
              incident: { id: number; state: string };
              runs: { outcome: string; agent_stats: Record<string, unknown> }[];
            }>("/incidents/1")
          ).body;
          return d.incident.state === "pr_open" || d.incident.state === "needs_human" ? d : undefined;
        },
        150_000,
      );
      expect(detail.incident.state).toBe("pr_open");
      expect(detail.runs[0]!.outcome).toBe("pr_opened");
      // The agent's denied push is in its stats; nothing reached main.
      expect(detail.runs[0]!.agent_stats).toMatchObject({
        tools: { read: 1, bash: 2, edit: 1, write: 1 },
        deniedToolCalls: 1,
      });
      expect((await h.remote.log("main")).every((c) => !c.body.includes("Healer-Incident"))).toBe(true);

      const file = await h.remote.readFile("healer/incident-1", "hosts/media-01/default.nix");
      expect(file).toContain('SupplementaryGroups = [ "media" ];');
      expect(h.github.prs).toHaveLength(1);
      expect(h.github.prs[0]!.title).toContain("jellyfin: join the media group");
      expect(h.github.prs[0]!.body).toContain("## Root cause");
      // What OpenCode told the model: the lane, and the alert fenced as untrusted data.
      const firstPrompt = JSON.stringify(mock.requests[0]!.body.messages);
      expect(firstPrompt).toContain("untrusted");
      expect(firstPrompt).toContain("jellyfin.service");
    });
  },
);
