import { describe, expect, it } from "vitest";
import { DEFAULT_PROTECTED_PATHS } from "../../src/config/schema.js";
import { checkChange, type GuardedFile } from "../../src/forge/guard.js";

const rules = { protectedPaths: DEFAULT_PROTECTED_PATHS, maxChangedFiles: 3, maxDiffLines: 50 };
const edit = (path: string, added = 1, deleted = 1): GuardedFile => ({ path, added, deleted });

describe("checkChange", () => {
  it("accepts a normal .nix edit", () => {
    expect(checkChange([edit("hosts/media-01/default.nix", 3, 1)], rules)).toEqual({ ok: true });
  });

  it.each([
    "secrets/media.age",
    "secrets/README.md",
    "hosts/media-01/wifi.age",
    "hosts/media-01/secrets.sops.yaml",
    ".github/workflows/ci.yml",
    ".gitlab/ci.yml",
  ])("refuses the protected path %s", (path) => {
    const verdict = checkChange([edit("flake.nix"), edit(path)], rules);
    expect(verdict).toEqual({ ok: false, reason: `${path} is a protected path` });
  });

  it("refuses a rename out of or into a protected path: both paths count", () => {
    const out = { ...edit("modules/key.nix", 0, 0), oldPath: "secrets/key.age" };
    expect(checkChange([out], rules)).toMatchObject({
      ok: false,
      reason: "secrets/key.age is a protected path",
    });
    const into = { ...edit("secrets/x.nix", 0, 0), oldPath: "modules/x.nix" };
    expect(checkChange([into], rules)).toMatchObject({
      ok: false,
      reason: "secrets/x.nix is a protected path",
    });
  });

  it("always refuses anything inside a .git directory, whatever the configured globs", () => {
    const none = { ...rules, protectedPaths: [] };
    expect(checkChange([edit(".git/config")], none)).toMatchObject({ ok: false });
    expect(checkChange([edit("vendor/lib/.git/hooks/post-checkout")], none)).toMatchObject({ ok: false });
  });

  it("refuses symlinks leaving the repository or into protected paths, and submodules", () => {
    const link = (path: string, symlinkTarget: string): GuardedFile => ({
      ...edit(path),
      kind: "symlink",
      symlinkTarget,
    });
    expect(checkChange([link("modules/a.nix", "../../etc/passwd")], rules)).toMatchObject({ ok: false });
    expect(checkChange([link("modules/a.nix", "/run/secrets/x")], rules)).toMatchObject({ ok: false });
    expect(checkChange([link("modules/a.nix", "../secrets/media.age")], rules)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("secrets/media.age"),
    });
    expect(checkChange([link("modules/a.nix", "../hosts/media-01/default.nix")], rules)).toEqual({
      ok: true,
    });
    expect(checkChange([{ ...edit("vendor/x"), kind: "submodule" }], rules)).toMatchObject({ ok: false });
  });

  it("refuses too many files", () => {
    const files = ["a.nix", "b.nix", "c.nix", "d.nix"].map((p) => edit(`modules/${p}`));
    expect(checkChange(files, rules)).toEqual({
      ok: false,
      reason: "4 files changed, more than the 3 allowed",
    });
    expect(checkChange(files.slice(0, 3), rules)).toEqual({ ok: true });
  });

  it("refuses too many lines, counting additions and deletions", () => {
    expect(checkChange([edit("modules/a.nix", 30, 21)], rules)).toEqual({
      ok: false,
      reason: "51 lines changed, more than the 50 allowed",
    });
    expect(checkChange([edit("modules/a.nix", 30, 20)], rules)).toEqual({ ok: true });
  });
});
