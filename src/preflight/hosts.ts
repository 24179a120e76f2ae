import pino from "pino";
import { createInspector, type InspectConfig, runOnHost } from "../hosts/inspect.js";
import { REFUSED_PREFIX } from "../hosts/wire.js";
import { type CheckGroup, type CheckResult, fail, ok, warn } from "./types.js";

/**
 * A command no allowlist lists and no host has: refused if the host checks, harmless if it does not.
 * 27 bytes, so its base64 has no `=` (which a shell would take for an assignment and "succeed").
 */
export const REFUSAL_PROBE = ["homelab-healer-doctor-probe"];

/** What to do about a channel error, by its kind (the first words of the Inspector's one line). */
function fixFor(error: string): string {
  if (/^host unreachable/.test(error))
    return "check hosts.<name>.address and .port, and that sshd runs there";
  if (/^(host key mismatch|unknown host key|host key not verified)/.test(error)) {
    return "put the host's key in inspect.knownHostsFile (ssh-keyscan, checked against the host's own /etc/ssh/ssh_host_ed25519_key.pub)";
  }
  if (/^login refused/.test(error)) {
    return "add the public half of inspect.sshKeyFile to services.homelabHealer.inspectTarget.authorizedKeys on that host";
  }
  if (/^refused by/.test(error)) return "allow nixos-version in the host's inspectTarget.commands";
  if (/^cannot start ssh/.test(error))
    return "install the OpenSSH client for the service (the NixOS module adds it)";
  if (/^timed out/.test(error)) return "check the host's load and inspect.timeoutSeconds";
  return "check hosts.<name> and the host's inspectTarget module";
}

/**
 * Each configured host, through the real channel: reachable, host key known, the forced command
 * answering (`nixos-version --json`), and a command outside every allowlist refused by the host itself
 * (exit 125 and its `refused:` line), which shows the host enforces its own list.
 */
export const hostChecks: CheckGroup = async (ctx) => {
  const { hosts, inspect } = ctx.config;
  const names = Object.keys(hosts).sort();
  if (names.length === 0) return [ok("hosts", "none configured: the agent inspects only this machine")];
  const keyProblems = ["inspect.sshKeyFile", "inspect.knownHostsFile"].flatMap((k) =>
    ctx.secretProblems[k] !== undefined ? [`${k}: ${ctx.secretProblems[k]}`] : [],
  );
  if (keyProblems.length > 0) {
    return [
      fail(
        "hosts",
        keyProblems.join("; "),
        "point inspect.sshKeyFile and inspect.knownHostsFile at readable files",
      ),
    ];
  }
  const config: InspectConfig = {
    hosts,
    inspect: { ...inspect, timeoutSeconds: Math.min(inspect.timeoutSeconds, 15) },
  };
  const log = pino({ level: "silent" });
  const opts = { path: ctx.path, signal: ctx.signal };
  const inspector = createInspector(config, log, opts);
  return Promise.all(
    names.map(async (name): Promise<CheckResult> => {
      const check = `host ${name}`;
      const h = hosts[name]!;
      const at = `${h.user}@${h.address}:${h.port}`;
      const version = await inspector.run(name, ["nixos-version", "--json"], { signal: ctx.signal });
      if (!version.ok) return fail(check, version.error, fixFor(version.error));
      // The channel answered: reachable, host key known, key accepted, forced command running.
      const probe = await runOnHost(config, log, name, REFUSAL_PROBE, opts);
      const refused = !probe.ok && probe.error.startsWith("refused by");
      if (!refused) {
        const got = probe.ok ? `it answered exit ${probe.exitCode} instead` : probe.error;
        return fail(
          check,
          `${at} did not refuse ${REFUSAL_PROBE[0]} with its own ${REFUSED_PREFIX} line: ${got}`,
          'make the host\'s authorized_keys line for this key carry command="homelab-healer-inspect …",restrict (services.homelabHealer.inspectTarget)',
        );
      }
      if (version.exitCode !== 0) {
        const said = version.stderr.trim().split("\n")[0] ?? "";
        return warn(
          check,
          `${at} answers and refuses what its list lacks, but nixos-version --json exited ${version.exitCode}${said ? ` (${said.slice(0, 200)})` : ""}: not a NixOS host?`,
          "inspection works; deployments cannot read this host's revision through it",
        );
      }
      let revision = "";
      try {
        const v = JSON.parse(version.stdout) as { nixosVersion?: string; configurationRevision?: string };
        revision = `NixOS ${v.nixosVersion ?? "?"}${v.configurationRevision ? `, revision ${v.configurationRevision}` : ""}`;
      } catch {
        revision = version.stdout.trim().slice(0, 100);
      }
      return ok(check, `${at} answers (${revision}) and refuses what its list lacks`);
    }),
  );
};
