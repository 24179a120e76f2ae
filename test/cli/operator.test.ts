import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli.js";
import { DURATION_FORMS } from "../../src/duration.js";
import { type CliProcess, captureIo, cliConfigFor, runCliProcess, startCli } from "../support/cli-process.js";
import { type Healer, startHealer } from "../support/serve.js";

/*
 * Issue 24.3, 24.7 and 24.9 through the real entry point, as an owner types the commands: a running
 * service whose agent fails (exit 3, a line on stderr), and the CLI as a child process beside it.
 */

describe("operator commands as a child process", () => {
  let h: Healer;
  let config: string;
  let incident: number;
  const cli = (...args: string[]) => runCliProcess([...args, "--config", config]);
  const inProcess = async (command: string, ...args: string[]) => {
    const c = captureIo();
    const code = await runCli(command, [...args, "--config", config], c.io);
    return { code, stdout: c.out(), stderr: c.err() };
  };

  beforeAll(async () => {
    h = await startHealer({
      agentMode: "fail",
      config: (base) => ({ ...base, agent: { ...(base.agent as object), maxAttempts: 1 } }),
    });
    config = cliConfigFor(h);
    const res = await h.post("generic", {
      name: "disk-full",
      service: "nas.mount",
      host: "nas",
      summary: "nas.mount: no space left on device",
      details: {
        evidence: [
          "nas.mount: no space left on device",
          "kernel: EXT4-fs warning (device sdb1): ext4_dx_add_entry: Directory index full!",
          "systemd[1]: nas.mount: Failed with result 'exit-code'.",
        ],
      },
    });
    incident = ((await res.json()) as { incidents: number[] }).incidents[0]!;
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("logs RUN_ID prints the attempt's output; incident ID shows its last lines, points to logs, and shows the alert's log lines once", {
    timeout: 150_000,
  }, async () => {
    const run = await h.waitFor("the failed run", async () => {
      const d = await h.api<{ runs: { id: number; outcome: string | null }[] }>(`/incidents/${incident}`);
      return d.body.runs.find((r) => r.outcome === "failed");
    });

    const logs = await cli("logs", String(run.id));
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain("==> agent.log <==");
    expect(logs.stdout).toContain("script agent: failing on purpose");
    expect(logs.stdout).toMatch(/# homelab-healer: agent exited exit=3/);
    // --follow on a finished run prints the same and ends by itself.
    const follow = await cli("logs", String(run.id), "--follow");
    expect(follow).toMatchObject({
      code: 0,
      stdout: logs.stdout.endsWith("\n") ? logs.stdout : `${logs.stdout}\n`,
    });

    const shown = await cli("incident", String(incident));
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`last lines of its output (all of it: homelab-healer logs ${run.id}):`);
    expect(shown.stdout).toMatch(/^ {8}script agent: failing on purpose$/m);
    // The summary once, then the alert's other lines (they were only in --json before).
    expect(shown.stdout.split("no space left on device").length - 1).toBe(1);
    expect(shown.stdout).toContain(
      "| kernel: EXT4-fs warning (device sdb1): ext4_dx_add_entry: Directory index full!",
    );
    expect(shown.stdout).toContain("| systemd[1]: nas.mount: Failed with result 'exit-code'.");

    const missing = await cli("logs", "99999");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("no run 99999\n");
  });

  it("silence --for '2 hours' is refused with the accepted forms; --for 2h is two hours, listed, and ended by unsilence", {
    timeout: 120_000,
  }, async () => {
    const bad = await cli("silence", "--service", "nas.mount", "--for", "2 hours");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`--for: not a duration: "2 hours"; use ${DURATION_FORMS}\n`);
    expect((await h.api<{ silences: unknown[] }>("/silences")).body.silences).toEqual([]);

    const ok = await cli("silence", "--service", "nas.mount", "--for", "2h", "--reason", "disk swap");
    expect(ok.code).toBe(0);
    const id = Number(/^silence (\d+): nas\.mount until \S+ \(disk swap\)/.exec(ok.stdout)?.[1]);
    const [s] = (
      await h.api<{ silences: { id: number; created_at: string; expires_at: string }[] }>("/silences")
    ).body.silences;
    expect(s!.id).toBe(id);
    expect(Date.parse(s!.expires_at) - Date.parse(s!.created_at)).toBe(2 * 3600 * 1000);

    const list = await cli("silences");
    expect(list.stdout).toMatch(
      new RegExp(`^ID\\s+SILENCES\\s+UNTIL\\s+REASON\\n${id}\\s+nas\\.mount\\s+\\S+\\s+disk swap\\n$`),
    );
    // The rest in this process (each child process costs seconds on a loaded machine).
    const json = await inProcess("silences", "--json");
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ id, service: "nas.mount" })]);

    const end = await cli("unsilence", String(id));
    expect(end).toMatchObject({ code: 0, stdout: `silence ${id} on nas.mount ended\n` });
    expect((await inProcess("silences")).stdout).toBe("no silence in force\n");
    const again = await inProcess("unsilence", String(id));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^silence ${id} already ended at \\S+\\n$`));

    const events = (await h.api<{ events: { kind: string; message: string }[] }>(`/incidents/${incident}`))
      .body.events;
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(["silenced", "unsilenced"]));
  });

  it("an error from the service is its message, without an HTTP status", async () => {
    await h.api(`/incidents/${incident}/dismiss`, { method: "POST", body: { reason: "done" } });
    // --close-pr goes through the API: the 409 is told as the service words it.
    const r = await cli("dismiss", String(incident), "--close-pr");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`incident ${incident} is already dismissed\n`);
  });
});

describe("logs --follow", () => {
  let h: Healer;
  let config: string;
  beforeAll(async () => {
    // "slow": the agent prints "working i/3" a second apart, then makes its change.
    h = await startHealer({ agentMode: "slow" });
    config = cliConfigFor(h);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("prints a live run's output as it comes and ends when the run has finished", {
    timeout: 120_000,
  }, async () => {
    const res = await h.post("generic", { name: "nginx-down", service: "nginx.service", host: "nas" });
    const incident = ((await res.json()) as { incidents: number[] }).incidents[0]!;
    const run = await h.waitFor("a run", async () => {
      const d = await h.api<{ runs: { id: number; state: string }[] }>(`/incidents/${incident}`);
      return d.body.runs[0];
    });
    const follow = startCli(["logs", String(run.id), "--follow", "--config", config]);
    try {
      // Output arrives while the run is still going…
      await waitForOut(follow, /working 1\/3/);
      // …and the command ends by itself once the run has.
      expect(await follow.exited).toBe(0);
      const after = await h.api<{ run: { state: string; outcome: string } }>(`/runs/${run.id}`);
      expect(after.body.run).toMatchObject({ state: "finished", outcome: "pr_opened" });
      const all = await runCliProcess(["logs", String(run.id), "--config", config]);
      // The followed output is the whole log, each part once.
      expect(follow.out().trimEnd()).toBe(all.stdout.trimEnd());
      expect(follow.out().split("working 3/3").length - 1).toBe(1);
    } finally {
      await follow.stop();
    }
  });
});

/** Resolves once the process's stdout matches `re` (rejects if it exits first). */
async function waitForOut(p: CliProcess, re: RegExp): Promise<void> {
  let exited = false;
  void p.exited.then(() => {
    exited = true;
  });
  for (;;) {
    if (re.test(p.out())) return;
    if (exited) throw new Error(`exited before ${re}: ${p.out()} ${p.err()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
