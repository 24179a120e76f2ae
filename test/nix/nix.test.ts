import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.js";

// The offline Nix checks (nix/check.sh): unit tests of our flake, package lock handling and NixOS
// module, evaluated with nixpkgs `lib`, stub NixOS options and fake pkgs. Not the VM tests.

const root = fileURLToPath(new URL("../..", import.meta.url));
const script = fileURLToPath(new URL("../../nix/check.sh", import.meta.url));

interface CheckLine {
  status: "ok" | "FAIL" | "SKIP" | "note";
  /** The rest of the line: `<group>: <what>`, then `: <detail>` for FAIL and SKIP. */
  name: string;
  /** Continuation lines (a failing check's output). */
  detail: string;
}

/** Why the Nix checks cannot run on this machine, or undefined when they can. */
function unavailable(): string | undefined {
  const probe = spawnSync("bash", [script, "--probe"], { cwd: root, encoding: "utf8" });
  if (probe.status === 0) return undefined;
  return (probe.stdout + probe.stderr).trim() || `nix/check.sh --probe exited ${probe.status}`;
}

/** Runs nix/check.sh with the given arguments; resolves with its exit code and output. */
function runScript(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Splits the runner's output into checks; indented or unmarked lines belong to the one before. */
function parseLines(output: string): CheckLine[] {
  const lines: CheckLine[] = [];
  for (const raw of output.split("\n")) {
    const m = /^(ok|FAIL|SKIP|note) +(.*)$/.exec(raw);
    if (m) {
      lines.push({ status: m[1] as CheckLine["status"], name: m[2] ?? "", detail: "" });
    } else if (raw.trim() !== "" && lines.length > 0) {
      lines[lines.length - 1]!.detail += `\n${raw}`;
    }
  }
  return lines;
}

const reason = unavailable();
if (reason !== undefined) console.log(`[test/nix] Nix checks skipped: ${reason}`);

describe.skipIf(reason !== undefined)("nix offline checks (nix/check.sh)", () => {
  let checks: CheckLine[] = [];
  let exitCode: number | null = null;

  beforeAll(async () => {
    const run = await runScript([]);
    exitCode = run.code;
    checks = parseLines(run.stdout);
    if (run.code !== 0) console.log(run.stdout, run.stderr);
  }, 600_000);

  const group = (prefix: string) => checks.filter((c) => c.name.startsWith(prefix));

  it.for([
    ["every .nix file parses", "parse: "],
    ["the flake wires packages, nixosModules, checks and devShells", "flake: "],
    ["the npm lock given to importNpmLock is filled in and pruned", "npm-lock: "],
    ["the module gives the expected unit, users, Postgres, tmpfiles and firewall", "module: "],
    ["the inspect target module: account, forced-command keys, commands file", "inspect-target: "],
    ["bad option values fail with the module system's message", "rejected: "],
    ["the generated settings build as a file", "settings JSON builds: "],
    ["package/: the OpenCode derivation and buildNpmPackage's phases on one pruned lock", "package: "],
    [
      "the pinned OpenCode: the lock's tarball, patched as built, loads its embedded libraries, needs dontStrip",
      "opencode: ",
    ],
    [
      "the unit's hardening: the agent's sandbox under its filters, no idle syscall deny entry",
      "hardening: ",
    ],
    ["the generated settings pass `check-config --shape-only`", "check-config --shape-only"],
    ["the VM tests' Python scripts compile", "VM test script compiles as Python: "],
  ] as const)("%s", ([_title, prefix], ctx) => {
    const lines = group(prefix);
    expect(lines.length).toBeGreaterThan(0);
    const skipped = lines.filter((c) => c.status === "SKIP");
    if (skipped.length === lines.length) {
      console.log(`[test/nix] skipped: ${skipped.map((c) => c.name).join("; ")}`);
      ctx.skip();
    }
    expect(lines.filter((c) => c.status === "FAIL").map((c) => `${c.name}\n${c.detail}`)).toEqual([]);
  });

  it("the runner exits 0 exactly when no check failed", () => {
    expect(exitCode === 0).toBe(checks.every((c) => c.status !== "FAIL"));
  });

  it("every generated settings file parses with the program's config schema", async () => {
    const run = await runScript(["--settings-json"]);
    expect(run.code, run.stderr).toBe(0);
    const cases = JSON.parse(run.stdout) as Record<string, string>;
    expect(Object.keys(cases).sort()).toEqual([
      "docs-example",
      "dry-run",
      "everything",
      "forgejo",
      "minimal",
      "vm-tests",
    ]);
    for (const [name, text] of Object.entries(cases)) {
      const config = parseConfig(JSON.parse(text));
      expect(config.stateDir, name).toBe("/var/lib/homelab-healer");
    }
  }, 120_000);
});
