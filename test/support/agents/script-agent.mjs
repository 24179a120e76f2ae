#!/usr/bin/env node
// A scripted agent for fast tests: `node script-agent.mjs <mode> [args…]`, cwd = the worktree.
// It follows the agent contract (HEALER_* env, PR body file) and nothing else. Dependency-free.
import { spawn, spawnSync } from "node:child_process";
import { lookup } from "node:dns/promises";
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";

const [mode = "change", ...rest] = process.argv.slice(2);
const cwd = process.cwd();
const say = (type, extra = {}) => console.log(JSON.stringify({ type, timestamp: Date.now(), ...extra }));
const hang = () => setInterval(() => {}, 1 << 30);
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

function fillPrBody(title, body) {
  const file = process.env.HEALER_PR_BODY_FILE;
  if (file) writeFileSync(file, `# ${title}\n\n${body}\n`);
}

function change() {
  mkdirSync(join(cwd, "hosts", "nas"), { recursive: true });
  writeFileSync(join(cwd, "hosts", "nas", "nginx.nix"), "{ services.nginx.enable = true; }\n");
  say("tool_use", { part: { type: "tool", tool: "write", state: { status: "completed" } } });
  fillPrBody(
    "nas: enable nginx again",
    "## What broke\nnginx was down.\n\n## Root cause\nIt was disabled.\n\n## Fix\nEnable it.",
  );
  say("step_finish", {
    part: {
      reason: "stop",
      tokens: { input: 10, output: 5, reasoning: 0, cache: { read: 0, write: 0 } },
      cost: 0.01,
    },
  });
}

/** Tries to read a path: "readable" (content or entries seen), "empty", or the error code. */
function probe(path) {
  try {
    if (statSync(path).isDirectory()) return readdirSync(path).length > 0 ? "readable" : "empty";
    const fd = openSync(path, "r");
    try {
      return readSync(fd, Buffer.alloc(16), 0, 16, 0) > 0 ? "readable" : "empty";
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    return e.code ?? String(e);
  }
}

/** Whether a file can be created in a directory. */
function canWrite(dir) {
  try {
    writeFileSync(join(dir, ".healer-write-probe"), "x");
    return true;
  } catch {
    return false;
  }
}

/** One network probe from inside the sandbox: "connected", an HTTP status line, or the error code. */
function netProbe(p) {
  return new Promise((ok) => {
    const proxy = new URL(process.env.HTTP_PROXY ?? "http://127.0.0.1:1");
    const target =
      p.kind === "tcp" ? { host: p.host, port: p.port } : { host: proxy.hostname, port: Number(proxy.port) };
    if (p.kind === "dns") {
      lookup(p.name).then(
        (a) => ok(`resolved ${a.address}`),
        (e) => ok(e.code ?? String(e)),
      );
      return;
    }
    const s = connect(target);
    const timer = setTimeout(() => {
      s.destroy();
      ok("timeout");
    }, 5000);
    s.on("error", (e) => {
      clearTimeout(timer);
      ok(e.code ?? String(e));
    });
    s.on("connect", () => {
      if (p.kind === "tcp") {
        clearTimeout(timer);
        s.destroy();
        ok("connected");
        return;
      }
      s.write(
        p.kind === "connect"
          ? `CONNECT ${p.authority} HTTP/1.1\r\nHost: ${p.authority}\r\n\r\n`
          : `GET ${p.url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      let got = "";
      const done = () => {
        clearTimeout(timer);
        s.destroy();
        const [head = "", body = ""] = got.split("\r\n\r\n");
        ok(`${head.split("\r\n")[0]} ${p.kind === "http" ? body : ""}`.trim());
      };
      // A tunnel stays open after its answer; a plain request ends with the response.
      s.on("data", (d) => {
        got += d;
        if (p.kind === "connect" && got.includes("\r\n\r\n")) done();
      });
      s.on("end", done);
    });
  });
}

/** Files under `root` (depth ≤ 6, each ≤ 1 MB read) whose text contains `needle`. */
function filesContaining(root, needle, depth = 0, found = []) {
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const e of entries) {
    const p = join(root, e.name);
    if (e.isDirectory() && depth < 6) filesContaining(p, needle, depth + 1, found);
    else if (e.isFile()) {
      try {
        if (statSync(p).size <= 1 << 20 && readFileSync(p, "latin1").includes(needle)) found.push(p);
      } catch {
        // unreadable: not visible to the agent either
      }
    }
  }
  return found;
}

const modes = {
  change,
  "no-change": () => say("step_finish", { part: { reason: "stop" } }),
  protected: () => {
    mkdirSync(join(cwd, "secrets"), { recursive: true });
    writeFileSync(join(cwd, "secrets", "x.age"), "age-encryption.org/v1 not really\n");
    fillPrBody("rotate a secret", "This must never be pushed.");
  },
  fail: () => {
    console.error("script agent: failing on purpose");
    process.exit(3);
  },
  hang,
  "ignore-term": () => {
    process.on("SIGTERM", () => console.log("got SIGTERM, ignoring it"));
    console.log("ignoring SIGTERM from now on");
    hang();
  },
  "detached-child": () => {
    const marker = rest[0] ?? "31337.123";
    const child = spawn("sleep", [marker], { detached: true, stdio: "ignore" });
    child.unref();
    console.log(JSON.stringify({ type: "started", pid: child.pid, marker }));
    hang();
  },
  // argv: <out file in cwd> <path>…; the paths come from the test, never from the environment.
  "leak-check": () => {
    const [outFile = "leak-check.json", ...paths] = rest;
    const results = Object.fromEntries(paths.map((p) => [p, probe(p)]));
    const writable = Object.fromEntries(paths.map((p) => [p, canWrite(p)]));
    writeFileSync(join(cwd, outFile), JSON.stringify({ env: process.env, results, writable }, null, 2));
    console.log("leak-check done");
  },
  // argv: <out file in cwd> <probes as JSON>; writes {probe label: result}.
  "net-probe": async () => {
    const [outFile = "net.json", probes = "[]"] = rest;
    const results = {};
    for (const p of JSON.parse(probes)) results[p.label] = await netProbe(p);
    writeFileSync(join(cwd, outFile), JSON.stringify({ env: process.env, results }, null, 2));
    console.log("net-probe done");
  },
  // argv: <out file in cwd> <argvs as JSON> <roots as JSON> <needle>: runs `inspect` (from PATH, no
  // shell) once per argv, then lists the files under the roots that contain the needle.
  inspect: () => {
    const [outFile = "inspect.json", argvs = "[]", roots = "[]", needle = "PRIVATE KEY"] = rest;
    const runs = JSON.parse(argvs).map((argv) => {
      const r = spawnSync("inspect", argv, { encoding: "utf8", maxBuffer: 1 << 26 });
      return { argv, status: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error?.message };
    });
    const found = JSON.parse(roots).flatMap((root) => filesContaining(root, needle));
    writeFileSync(join(cwd, outFile), JSON.stringify({ env: process.env, runs, found }, null, 2));
    console.log("inspect done");
  },
  slow: async () => {
    const n = Number(rest[0] ?? 3);
    for (let i = 0; i < n; i++) {
      console.log(`working ${i + 1}/${n}`);
      await sleep(1000);
    }
    change();
  },
  "big-change": () => {
    const n = Number(rest[0] ?? 30);
    mkdirSync(join(cwd, "generated"), { recursive: true });
    for (let i = 0; i < n; i++) writeFileSync(join(cwd, "generated", `f${i}.nix`), `{ value = ${i}; }\n`);
    fillPrBody("a change far too big", "Many files.");
  },
  "break-validation": () => {
    writeFileSync(join(cwd, "broken.nix"), "{ this is not nix\n");
    fillPrBody("a broken change", "Validation should reject this.");
  },
};

const run = modes[mode];
if (!run) {
  console.error(`script agent: unknown mode ${mode}`);
  process.exit(2);
}
await run();
