#!/usr/bin/env node
// Picks the script agent's mode from the incident: service "mode-<mode>.service" runs
// `script-agent.mjs <mode>`, anything else runs `change`. Lets one running service exercise every
// outcome. Extra argv is passed on.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const context = JSON.parse(readFileSync(process.env.HEALER_CONTEXT_FILE, "utf8"));
const mode = /^mode-(.+)\.service$/.exec(context.incident?.service ?? "")?.[1] ?? "change";
const script = fileURLToPath(new URL("./script-agent.mjs", import.meta.url));
const r = spawnSync(process.execPath, [script, mode, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(r.status ?? 1);
