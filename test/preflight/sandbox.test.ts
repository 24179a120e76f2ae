import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { sandboxChecks } from "../../src/preflight/bwrap.js";
import { BWRAP_USERNS_REFUSED, scratch } from "./support.js";

const HAS_BWRAP = spawnSync("bwrap", ["--version"]).status === 0;

describe("the sandbox check", () => {
  const s = scratch();
  afterAll(() => s.cleanup());

  it("fails when bwrap is not on the PATH, and says what to install", async () => {
    const empty = s.bin({});
    const [r] = await sandboxChecks(s.ctx({}, { path: empty }));
    expect(r).toMatchObject({ name: "sandbox", status: "fail" });
    expect(r!.found).toBe("bwrap not found on PATH");
    expect(JSON.stringify(r)).not.toContain(empty);
    expect(r!.fix).toContain("apt install bubblewrap");
  });

  it("names refused user namespaces when bwrap cannot create the sandbox", async () => {
    // A bwrap that answers --version but, asked for a sandbox, says what a refusing kernel makes it say.
    const bin = s.bin({
      bwrap: `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "bubblewrap 0.8.0"; exit 0; fi\necho "${BWRAP_USERNS_REFUSED}" >&2\nexit 1\n`,
    });
    const [r] = await sandboxChecks(s.ctx({}, { path: `${bin}:/usr/bin:/bin` }));
    expect(r).toMatchObject({ name: "sandbox", status: "fail" });
    expect(r!.found).toContain("user namespaces are refused here");
    expect(r!.found).toContain("No permissions to creating new namespace");
    expect(r!.fix).toContain("kernel.unprivileged_userns_clone=1");
    expect(r!.fix).toContain("security.allowUserNamespaces");
  });

  it("warns, naming what is unprotected, when agent.sandbox is none", async () => {
    const [r] = await sandboxChecks(s.ctx({ agent: { sandbox: "none" } }, { path: s.bin({}) }));
    expect(r).toMatchObject({ name: "sandbox", status: "warn" });
    expect(r!.found).toContain("can read every secret the service can");
  });

  it.runIf(HAS_BWRAP)("passes when the real sandbox starts here", async () => {
    const [r] = await sandboxChecks(s.ctx({}));
    expect(r).toMatchObject({ name: "sandbox", status: "ok" });
    expect(r!.found).toMatch(/^bubblewrap \d+\.\d+\.\d+ at \/.*bwrap; a sandboxed run starts here$/);
  });
});
