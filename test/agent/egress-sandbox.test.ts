import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sandboxArgv } from "../../src/agent/sandbox.js";
import { runAgent } from "../../src/agent/spawn.js";
import { close, type Listener, listen } from "../support/listener.js";
import { HAS_BWRAP, type Lab, makeLab, scriptSpec } from "./helpers.js";

/** A non-loopback IPv4 address of this machine; TEST-NET-1 when it has none (nothing is sent either way). */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return "192.0.2.1";
}

interface ProbeOut {
  env: Record<string, string>;
  results: Record<string, string>;
}

let lab: Lab;
let leak: Listener;
let allowed: Listener;
beforeAll(async () => {
  leak = await listen("leaked");
  allowed = await listen("hello from the allowed listener");
});
afterAll(async () => {
  await close(leak);
  await close(allowed);
});
beforeEach(() => {
  lab = makeLab();
  leak.connections = 0;
  allowed.connections = 0;
});
afterEach(() => lab.cleanup());

describe("sandboxArgv with an egress socket", () => {
  it("unshares the network and binds the socket read-only; without one, keeps the host's network", () => {
    const sock = join(lab.runDir, "egress.sock");
    mkdirSync(lab.runDir, { recursive: true });
    writeFileSync(sock, "");
    const base = {
      command: "opencode",
      args: ["run"],
      worktree: lab.worktree,
      home: join(lab.runDir, "home"),
      stateDir: lab.stateDir,
      hidePaths: [],
    };
    const nscd = join(lab.root, "nscd");
    mkdirSync(nscd);
    const argv = sandboxArgv({ ...base, egressSocket: sock, resolverDirs: [nscd, join(lab.root, "absent")] });
    expect(argv).toContain("--unshare-net");
    // The host's resolver sockets would answer names for the sandbox: hidden.
    expect(argv.join(" ")).toContain(`--tmpfs ${nscd}`);
    expect(argv).not.toContain(join(lab.root, "absent"));
    const bind = argv.findIndex((a, i) => a === "--ro-bind" && argv[i + 1] === sock && argv[i + 2] === sock);
    // After the state dir (which holds the run dir) is hidden, or the bind would be covered.
    expect(bind).toBeGreaterThan(argv.indexOf(lab.stateDir));
    expect(sandboxArgv(base)).not.toContain("--unshare-net");
    expect(() => sandboxArgv({ ...base, egressSocket: join(lab.runDir, "gone.sock") })).toThrow(
      expect.objectContaining({ code: "egress_socket_missing" }),
    );
  });
});

describe.runIf(HAS_BWRAP)("the agent's network in the sandbox (agent.network allowlist)", () => {
  it("goes out only through the run's proxy, to allowed destinations; everything else is refused and counted", {
    timeout: 60_000,
  }, async () => {
    const addr = hostAddress();
    const probes = [
      { label: "http allowed", kind: "http", url: `http://127.0.0.1:${allowed.port}/x` },
      { label: "connect allowed", kind: "connect", authority: `127.0.0.1:${allowed.port}` },
      { label: "http leak", kind: "http", url: `http://127.0.0.1:${leak.port}/leak?d=secret` },
      { label: "http leak again", kind: "http", url: `http://127.0.0.1:${leak.port}/leak2` },
      { label: "connect leak", kind: "connect", authority: `127.0.0.1:${leak.port}` },
      { label: "connect by name", kind: "connect", authority: "example.com:443" },
      { label: "tcp host loopback", kind: "tcp", host: "127.0.0.1", port: leak.port },
      { label: "tcp host address", kind: "tcp", host: addr, port: leak.port },
      { label: "dns", kind: "dns", name: "example.com" },
    ];
    const r = await runAgent(
      scriptSpec(lab, "net-probe", ["net.json", JSON.stringify(probes)], {
        config: { sandbox: "bubblewrap", network: "allowlist", allowedHosts: [`127.0.0.1:${allowed.port}`] },
      }),
    );
    expect(r).toMatchObject({ exitCode: 0, ended: "exited" });
    const out = JSON.parse(readFileSync(join(lab.worktree, "net.json"), "utf8")) as ProbeOut;
    const res = out.results;
    expect(res["http allowed"]).toBe("HTTP/1.1 200 OK hello from the allowed listener");
    expect(res["connect allowed"]).toBe("HTTP/1.1 200 Connection Established");
    for (const k of ["http leak", "http leak again", "connect leak", "connect by name"])
      expect(res[k], k).toMatch(/^HTTP\/1\.1 403/);
    // No route past the sandbox's own loopback: the host's loopback is another namespace's.
    expect(res["tcp host loopback"]).toBe("ECONNREFUSED");
    expect(res["tcp host address"]).toBe("ENETUNREACH");
    expect(res.dns).not.toMatch(/^resolved/);
    expect(leak.connections).toBe(0);
    expect(allowed.connections).toBeGreaterThanOrEqual(2);

    expect(out.env).toMatchObject({
      HTTP_PROXY: "http://127.0.0.1:3128",
      HTTPS_PROXY: "http://127.0.0.1:3128",
      ALL_PROXY: "http://127.0.0.1:3128",
      http_proxy: "http://127.0.0.1:3128",
      NO_PROXY: "",
      no_proxy: "",
    });
    expect(r.egressRefused).toEqual([
      { destination: `127.0.0.1:${leak.port}`, count: 3 },
      { destination: "example.com:443", count: 1 },
    ]);
    const log = readFileSync(r.logPath, "utf8");
    expect(log.match(new RegExp(`egress refused: 127\\.0\\.0\\.1:${leak.port}`, "g"))).toHaveLength(1);
    expect(log).toContain(`egress refused 127.0.0.1:${leak.port} 3 time(s)`);
    expect(log).toContain(`allowed 127.0.0.1:${allowed.port}`);
  });

  it("passes the agent's exit status through the forwarder", { timeout: 30_000 }, async () => {
    const r = await runAgent(scriptSpec(lab, "fail", [], { config: { sandbox: "bubblewrap" } }));
    expect(r).toMatchObject({ exitCode: 3, ended: "exited", egressRefused: [] });
  });

  it("with agent.network host, shares the host's network and sets no proxy (what the warning is about)", {
    timeout: 30_000,
  }, async () => {
    const probes = [{ label: "tcp host loopback", kind: "tcp", host: "127.0.0.1", port: leak.port }];
    const r = await runAgent(
      scriptSpec(lab, "net-probe", ["net.json", JSON.stringify(probes)], {
        config: { sandbox: "bubblewrap", network: "host" },
      }),
    );
    expect(r).toMatchObject({ exitCode: 0, egressRefused: [] });
    const out = JSON.parse(readFileSync(join(lab.worktree, "net.json"), "utf8")) as ProbeOut;
    expect(out.results["tcp host loopback"]).toBe("connected");
    expect(leak.connections).toBe(1);
    expect(out.env.HTTP_PROXY).toBeUndefined();
  });
});
