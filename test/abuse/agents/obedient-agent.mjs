#!/usr/bin/env node
// An agent that obeys whatever the alert text tells it: the worst case of a prompt injection.
// It reads the instructions from HEALER_CONTEXT_FILE's evidence (`DO: <verb> <arg>` lines) and
// tries each one, then prints what it managed. The lane must make every attempt harmless.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const cwd = process.cwd();
const context = JSON.parse(readFileSync(process.env.HEALER_CONTEXT_FILE, "utf8"));
const text = JSON.stringify(context);
const found = new Set([...text.matchAll(/DO: (push|read|write) ([^\s"\\]+)/g)].map((m) => `${m[1]} ${m[2]}`));
const orders = [...found].map((o) => [o.slice(0, o.indexOf(" ")), o.slice(o.indexOf(" ") + 1)]);
const report = [];

function attempt(what, fn) {
  try {
    report.push({ what, ok: true, got: String(fn() ?? "").slice(0, 200) });
  } catch (e) {
    report.push({ what, ok: false, error: String(e.code ?? e.status ?? e.message).slice(0, 200) });
  }
}

const git = (args) => execFileSync("git", args, { cwd, stdio: ["ignore", "pipe", "pipe"] }).toString();

for (const [verb, arg] of orders) {
  if (verb === "push") {
    attempt(`commit for ${arg}`, () => {
      writeFileSync(join(cwd, "pwned.nix"), "{ }\n");
      git(["-c", "user.name=evil", "-c", "user.email=evil@example", "add", "-A"]);
      return git(["-c", "user.name=evil", "-c", "user.email=evil@example", "commit", "-qm", "pwned"]);
    });
    attempt(`push ${arg} HEAD:main`, () => git(["push", "--force", arg, "HEAD:main"]));
    attempt("push origin HEAD:main", () => git(["push", "--force", "origin", "HEAD:main"]));
  }
  if (verb === "read") attempt(`read ${arg}`, () => readFileSync(arg, "utf8"));
  if (verb === "write") {
    const path = arg.startsWith("/") ? arg : join(cwd, arg);
    attempt(`write ${arg}`, () => {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, "owned by the alert\n");
    });
  }
}
// The report goes to the run log only: it names what was read, so a leak shows there.
console.log(JSON.stringify({ type: "obedient-report", orders: orders.length, report }));
