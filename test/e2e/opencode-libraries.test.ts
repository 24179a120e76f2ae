import { execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { OPENCODE_FLAGS } from "../../src/agent/environment.js";
import { OPENCODE } from "../support/real-opencode.js";

// The shared libraries the real OpenCode loads while a scripted model drives it through read, bash
// and edit turns, measured with the dynamic linker's own log (LD_DEBUG=files), against the list
// package/opencode.nix patches the NixOS binary for (package/opencode-libraries.json; nix/check.sh
// checks the patched binary against it). A new library in a later OpenCode fails here first.

interface Listed {
  glibc: string[];
  ccLib: string[];
  hostNss: string[];
  embedded: string[];
}
const LISTED = JSON.parse(
  readFileSync(new URL("../../package/opencode-libraries.json", import.meta.url), "utf8"),
) as Listed;

/** What the linker loaded into the process whose log this is: sonames, and the /tmp files Bun extracted. */
function loaded(log: string): { sonames: Set<string>; extracted: string[] } {
  const sonames = new Set<string>();
  const extracted: string[] = [];
  for (const m of log.matchAll(/file=(\S+) \[0\];\s+(?:needed|dynamically loaded) by/g)) {
    const file = m[1]!;
    if (file.startsWith("/")) extracted.push(file);
    else sonames.add(file);
  }
  return { sonames, extracted: [...new Set(extracted)] };
}

const HAS_BWRAP = ["/usr/bin/bwrap", "/bin/bwrap"].find((p) => existsSync(p));
const TSX = new URL("../../node_modules/tsx/dist/loader.mjs", import.meta.url).href;
const MOCK_MAIN = new URL("../support/mock-llm-main.ts", import.meta.url).pathname;

// OpenCode reaches for the network on its own (plugins, model lists): it runs, with the scripted
// model, in a network namespace of its own where only loopback exists, so nothing leaves the host.
const SCRIPT = `
"$NODE" --import "$TSX" "$MOCK_MAIN" "$TURNS" "$OPENCODE_CONFIG" &
mock=$!
while [ ! -s "$OPENCODE_CONFIG" ] && kill -0 "$mock" 2>/dev/null; do sleep 0.1; done
LD_DEBUG=files LD_DEBUG_OUTPUT="$LOGS/ld" "$OPENCODE_BIN" run --dir "$WT" --format json --model mock/mock-model "fix the host"
code=$?
kill "$mock"
wait "$mock"
exit "$code"
`;

describe.runIf(OPENCODE !== undefined && HAS_BWRAP !== undefined)(
  "the libraries the real OpenCode loads in a scripted run",
  () => {
    const base = mkdtempSync(join("/var/tmp", "healer-oc-libs-"));
    afterAll(() => rmSync(base, { recursive: true, force: true }));

    it("are glibc's, libstdc++/libgcc_s for the embedded watcher addon, and glibc's NSS: as package/opencode.nix lists", {
      timeout: 180_000,
    }, async () => {
      const wt = join(base, "wt");
      const home = join(base, "home");
      const logs = join(base, "ld");
      mkdirSync(wt);
      mkdirSync(home);
      mkdirSync(logs);
      execFileSync("git", ["init", "-q", wt]);
      writeFileSync(join(wt, "host.nix"), "{ }\n");
      execFileSync("git", ["-C", wt, "add", "."]);
      execFileSync("git", ["-C", wt, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "host"]);
      const file = join(wt, "host.nix");
      const turns = [
        { tools: [{ name: "read", args: { filePath: file } }] },
        { tools: [{ name: "bash", args: { command: "ls", description: "list" } }] },
        { tools: [{ name: "edit", args: { filePath: file, oldString: "{ }", newString: "{ x = 1; }" } }] },
        { text: "Done." },
      ];
      const child = spawn(
        HAS_BWRAP!,
        [
          ...[
            "--unshare-net",
            "--die-with-parent",
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
          ],
          ...["--tmpfs", "/tmp", "--bind", base, base, "--chdir", wt, "--", "sh", "-c", SCRIPT],
        ],
        {
          stdio: ["ignore", "pipe", "pipe"],
          env: {
            PATH: process.env.PATH ?? "/usr/bin:/bin",
            HOME: home,
            XDG_CONFIG_HOME: join(home, ".config"),
            XDG_DATA_HOME: join(home, ".local", "share"),
            XDG_CACHE_HOME: join(home, ".cache"),
            XDG_STATE_HOME: join(home, ".local", "state"),
            OPENCODE_CONFIG: join(base, "opencode.json"),
            ...OPENCODE_FLAGS,
            NODE: process.execPath,
            TSX,
            MOCK_MAIN,
            TURNS: JSON.stringify(turns),
            OPENCODE_BIN: OPENCODE!,
            WT: wt,
            // One file per process: OpenCode's own, and its children's (git, the bash tool's shell).
            LOGS: logs,
          },
        },
      );
      let output = "";
      child.stdout.on("data", (d: Buffer) => {
        output += d;
      });
      child.stderr.on("data", (d: Buffer) => {
        output += d;
      });
      const code = await new Promise<number | null>((ok) => child.on("close", ok));
      expect(code, output.slice(-2000)).toBe(0);
      expect(readFileSync(file, "utf8")).toBe("{ x = 1; }\n");

      const own = readdirSync(logs)
        .map((f) => readFileSync(join(logs, f), "utf8"))
        .filter((log) => log.includes(`needed by ${OPENCODE} [0]`));
      expect(own).toHaveLength(1);
      const { sonames, extracted } = loaded(own[0]!);
      const nss = [...sonames].filter((s) => s.startsWith("libnss_"));
      const others = [...sonames].filter((s) => !s.startsWith("libnss_")).sort();
      // Everything but glibc's NSS modules (the host's nsswitch.conf decides those) is listed.
      expect(others).toEqual(
        [...LISTED.glibc, ...LISTED.ccLib].filter((s) => !s.startsWith("ld-linux")).sort(),
      );
      expect(nss.every((s) => /^libnss_\w+\.so\.2$/.test(s))).toBe(true);
      // The two embedded libraries a headless run uses, extracted from /$bunfs to /tmp and dlopen()ed:
      // libfff_c (file search) and the watcher addon, which is what needs libstdc++.so.6.
      expect(extracted).toHaveLength(2);
      expect(extracted.every((f) => /^\/tmp\/\.[0-9a-f]+-0000000\d\.(so|node)$/.test(f))).toBe(true);
      expect(own[0]).toMatch(/file=libstdc\+\+\.so\.6 \[0\];\s+needed by \/tmp\/\.[0-9a-f]+-0000000\d\.node/);
    });
  },
);
