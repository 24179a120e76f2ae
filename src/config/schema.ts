import { z } from "zod";
import { parseHostPattern } from "../agent/egress/allowlist.js";
import {
  DEFAULT_INSPECT_COMMANDS,
  hasControlCharacter,
  isConfigHostName,
  isHostName,
} from "../hosts/commands.js";

/** Seconds, as every duration in the config. */
const seconds = z.number().int().nonnegative();
const positive = z.number().int().positive();
/** A path to a file holding a secret; relative names are looked up in $CREDENTIALS_DIRECTORY. */
const secretFile = z.string().min(1);
/** `forge.apiUrl`'s default; a Forgejo/Gitea forge must name its own server. */
const GITHUB_API_URL = "https://api.github.com";

export const SOURCES = ["openobserve", "alertmanager", "grafana", "uptime-kuma", "gatus", "generic"] as const;
export type Source = (typeof SOURCES)[number];
/** Hooks that may have a token of their own (`auth.sources.<name>.tokenFile`): the alert sources and deployments. */
export const TOKEN_SOURCES = [...SOURCES, "deployment"] as const;
export type TokenSource = (typeof TOKEN_SOURCES)[number];

export const DEFAULT_ALLOWED_COMMANDS = [
  "journalctl *",
  "systemctl status *",
  "systemctl show *",
  "systemctl cat *",
  "ls *",
  "cat *",
  "stat *",
  "id *",
  "getent *",
  "findmnt *",
  "mount",
  "df *",
  "nix eval *",
  "nix build --dry-run *",
  "git status*",
  "git diff*",
  "git log*",
  "git show*",
];

export const DEFAULT_PROTECTED_PATHS = ["secrets/**", "**/*.age", "**/*.sops.*", ".git*/**"];

/** A regular expression, checked when the config is read (not when the first alert needs it). */
const regex = z.string().superRefine((v, ctx) => {
  try {
    new RegExp(v);
  } catch (e) {
    // V8 says why: "Invalid regular expression: /([/: Unterminated character class".
    const why = (e as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "");
    ctx.addIssue({ code: "custom", message: `not a valid regular expression: ${why}` });
  }
});

/** An `agent.allowedHosts` entry: `host[:port]`, `*.domain`, `host:*`, `[v6]:port`. */
const hostPattern = z.string().superRefine((v, ctx) => {
  const p = parseHostPattern(v);
  if (typeof p === "string") ctx.addIssue({ code: "custom", message: p });
});

const ignoreRule = z
  .object({ service: regex.optional(), alertName: regex.optional(), message: regex.optional() })
  .strict()
  .refine((r) => r.service !== undefined || r.alertName !== undefined || r.message !== undefined, {
    message: "an ignore rule needs at least one of service, alertName, message",
  });

/** A homelab host the agent may inspect over SSH (`hosts.<name>`; the name is the `host` alerts carry). */
const inspectedHost = z
  .object({
    address: z
      .string()
      .refine((a) => isHostName(a) && !a.startsWith("-"), {
        message: "must not be empty, start with - or contain whitespace or control characters",
      })
      .describe(
        "a homelab host the agent may inspect read-only over SSH (`inspect <host> …`); `<name>` is the `host` its alerts carry (letters, digits, `._:@%+-`)",
      ),
    port: z.number().int().min(1).max(65535).default(22).describe("its sshd's port"),
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]*$/i, "must be a plain user name")
      .default("healer-inspect")
      .describe("the account `nixosModules.inspectTarget` creates there"),
  })
  .strict();

/** A pattern of `inspect.commands`: no control characters (a newline would split the rule). */
const inspectPattern = z
  .string()
  .min(1)
  .refine((v) => !hasControlCharacter(v), { message: "must not contain control characters" });

/** The whole configuration file (SPEC §3). Unknown keys are an error at every level. */
export const configSchema = z
  .object({
    listen: z
      .object({
        host: z
          .string()
          .default("127.0.0.1")
          .describe("address the HTTP server binds (`0.0.0.0` for alert senders on other hosts)"),
        port: z.number().int().min(0).max(65535).default(8470).describe("port of the HTTP server"),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        url: z
          .string()
          .regex(
            /^(postgres|postgresql|pglite):\/\//,
            "must start with postgres://, postgresql:// or pglite://",
          )
          .optional()
          .describe(
            "`postgres://…`, `postgresql:///homelab-healer?host=/run/postgresql` (peer auth, as the NixOS module sets up), or `pglite://DIR`; unset: PGlite in `stateDir/db` (one process only)",
          ),
      })
      .strict()
      .prefault({}),
    stateDir: z
      .string()
      .default("./.homelab-healer")
      .describe(
        "the mirror clone (`mirror.git`), worktrees and run logs (`runs/<id>/`); on the embedded default also the generated `token` and PGlite",
      ),
    auth: z
      .object({
        tokenFile: secretFile
          .optional()
          .describe(
            "bearer token for `/hooks/*` and `/api/*`; required with a config file (the embedded default generates `.homelab-healer/token`, which you may name here)",
          ),
        sources: z
          .partialRecord(
            z.enum(TOKEN_SOURCES),
            z
              .object({
                tokenFile: secretFile.describe(
                  "a token just for `/hooks/<source>` (the shared token is then refused there)",
                ),
              })
              .strict(),
          )
          .default({}),
        github: z
          .object({
            webhookSecretFile: secretFile
              .optional()
              .describe(
                "enables `POST /hooks/github` (HMAC `X-Hub-Signature-256`): PR merged/closed at once",
              ),
          })
          .strict()
          .prefault({}),
        viewerTokenFile: secretFile
          .optional()
          .describe("a read-only token for the web page: a viewer sees everything and can do nothing"),
        forgejo: z
          .object({
            webhookSecretFile: secretFile
              .optional()
              .describe(
                "enables `POST /hooks/forgejo` (hex HMAC-SHA256 in `X-Forgejo-Signature` or `X-Gitea-Signature`): PR merged/closed at once",
              ),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    repo: z
      .object({
        url: z
          .string()
          .min(1)
          .optional()
          .describe(
            "your homelab flake repo (ssh, https, `file://` or a path); unset: alerts are triaged, incidents say why no repair ran",
          ),
        branch: z
          .string()
          .min(1)
          .default("main")
          .describe("the branch your hosts deploy from: worktrees start from it, PRs target it"),
        sshKeyFile: secretFile
          .optional()
          .describe(
            "deploy key (with write access) for fetch and push (`GIT_SSH_COMMAND`, `IdentitiesOnly`)",
          ),
        knownHostsFile: z.string().min(1).optional().describe("known host keys for `repo.url`'s ssh host"),
        protectedPaths: z
          .array(z.string().min(1))
          .default(DEFAULT_PROTECTED_PATHS)
          .describe("globs: a change touching one is never pushed (run outcome `refused`)"),
        maxChangedFiles: positive.default(20).describe("a change with more files is never pushed"),
        maxDiffLines: positive.default(600).describe("a change with more diff lines is never pushed"),
        authorName: z.string().min(1).default("homelab-healer").describe("commit author name"),
        authorEmail: z
          .string()
          .min(3)
          .default("homelab-healer@localhost")
          .describe("commit author email; a remote branch with commits by anyone else is never pushed over"),
      })
      .strict()
      .prefault({}),
    forge: z
      .object({
        type: z
          .enum(["github", "forgejo", "gitea", "none"])
          .default("github")
          .describe(
            "`github`, `forgejo` or `gitea`: pushes and opens PRs there; `none`: a dry run: the change is committed on `healer/incident-<id>` in `stateDir/mirror.git`, nothing is pushed, no PR",
          ),
        owner: z
          .string()
          .min(1)
          .optional()
          .describe(
            "owner (user or organisation) of the repo on the forge; `owner`, `repo`, `tokenFile` are required with a forge `type` and a `repo.url`",
          ),
        repo: z.string().min(1).optional().describe("the repo's name on the forge"),
        apiUrl: z
          .url()
          .default(GITHUB_API_URL)
          .describe(
            "the forge's API: GitHub's (GitHub Enterprise, a test server), or for Forgejo/Gitea the server's base URL (`/api/v1` is added)",
          ),
        tokenFile: secretFile
          .optional()
          .describe(
            "forge token: GitHub: contents and pull requests (read/write) on the one repo; Forgejo/Gitea: scopes `write:repository` and `write:issue`",
          ),
        labels: z.array(z.string().min(1)).default(["homelab-healer"]).describe("labels put on every PR"),
        draftOnValidationFailure: z
          .boolean()
          .default(true)
          .describe("open a draft PR when `validate.command` still fails (else `needs_human`, no PR)"),
      })
      .strict()
      .prefault({})
      .describe("`owner`, `repo` and `tokenFile` are required with `type` `github` and a `repo.url`"),
    agent: z
      .object({
        command: z
          .string()
          .min(1)
          .default("opencode")
          .describe("the agent program (a name on the PATH or an absolute path); see Agent contract"),
        args: z
          .array(z.string())
          .optional()
          .describe(
            "its arguments, with placeholders `{worktree}` `{prompt}` `{promptFile}` `{title}` `{model}` `{runId}` `{incidentId}`; unset: OpenCode's (`run --dir {worktree} --format json --title … [--model …] {prompt}`)",
          ),
        model: z
          .string()
          .regex(/^[^/]+\/.+$/, "must be provider/model")
          .optional()
          .describe("passed to OpenCode as `--model` (`provider/model`)"),
        opencodeConfig: z
          .record(z.string(), z.unknown())
          .default({})
          .describe(
            "merged into the per-run OpenCode config: `provider` (a local Ollama or vLLM via `@ai-sdk/openai-compatible` and a `baseURL`), `agent`, `instructions`; never `permission`",
          ),
        environmentFile: secretFile
          .optional()
          .describe("`KEY=value` lines (LLM API keys) given to the agent only"),
        timeoutSeconds: positive.default(1800).describe("wall clock of one agent attempt"),
        idleTimeoutSeconds: positive
          .default(600)
          .describe("an attempt with no output at all for this long ends"),
        maxConcurrentRuns: positive
          .default(1)
          .describe("runs at once, across all instances sharing the database"),
        maxAttempts: positive
          .default(2)
          .describe("attempts per run (a failed or timed-out attempt is retried)"),
        maxRunsPerDay: seconds
          .default(20)
          .describe("runs started in the last 24 h; beyond it actionable incidents are `suppressed`"),
        maxCostPerDay: z
          .number()
          .nonnegative()
          .optional()
          .describe(
            "once the runs of the last 24 h cost this much (the provider's unit, usually USD), actionable incidents are `suppressed` with the reason, like `maxRunsPerDay`; unset: no limit",
          ),
        allowedCommands: z
          .array(z.string().min(1))
          .default(DEFAULT_ALLOWED_COMMANDS)
          .describe("bash commands (OpenCode patterns) the agent may run; everything else is denied"),
        sandbox: z
          .enum(["bubblewrap", "none"])
          .default("bubblewrap")
          .describe("`none`: the agent runs unsandboxed and can read every secret the service can (warned)"),
        network: z
          .enum(["allowlist", "host"])
          .default("allowlist")
          .describe(
            "`allowlist`: own network namespace, out only through the run's egress proxy (model endpoints and `allowedHosts`); `host`: the sandbox shares the host's network, and `serve` warns at start that any allowed command can then reach anything the host can",
          ),
        allowedHosts: z
          .array(hostPattern)
          .default([])
          .describe(
            "more destinations, as `host[:port]` patterns: `cache.nixos.org` (port 443), `192.168.1.20:11434`, `ollama.lan:*` (any port), `*.example.com` (subdomains only), `[fd00::20]:8080`",
          ),
      })
      .strict()
      .prefault({}),
    validate: z
      .object({
        command: z
          .array(z.string())
          .min(1)
          .optional()
          .describe(
            'run in the worktree after the agent, in its sandbox, e.g. `["nix","flake","check","--no-build"]`; unset: changes are not validated',
          ),
        timeoutSeconds: positive.default(900).describe("wall clock of the validation"),
      })
      .strict()
      .prefault({}),
    triage: z
      .object({
        minOccurrences: positive.default(1).describe("alerts needed within `windowSeconds` before a run"),
        windowSeconds: positive.default(900).describe("the window `minOccurrences` counts in"),
        settleSeconds: seconds
          .default(60)
          .describe("an incident waits this long without a resolve before it is judged"),
        ignore: z
          .array(ignoreRule)
          .default([])
          .describe(
            "rules `{service?, alertName?, message?}` of regexes (at least one): a matching incident is noise (`suppressed`)",
          ),
      })
      .strict()
      .prefault({}),
    lifecycle: z
      .object({
        staleSeconds: positive
          .default(2700)
          .describe(
            "no alert for this long: `open`/`suppressed` incidents resolve (OpenObserve never sends resolved)",
          ),
        deployGraceSeconds: seconds
          .default(1800)
          .describe(
            "after a merge whose deployment is not tracked, recurrences inside this grace are ignored",
          ),
        verifySeconds: positive
          .default(7200)
          .describe(
            "quiet this long after the fix is deployed (or merged, when deployment is not tracked): `resolved`",
          ),
        maxFollowUps: seconds
          .default(2)
          .describe("follow-up runs after merged fixes that did not hold, then `needs_human`"),
        prPollSeconds: positive.default(300).describe("how often open PRs are read"),
        dismissCooldownSeconds: seconds
          .default(86400)
          .describe("after a dismissal the same fingerprint stays noise this long"),
        worktreeRetentionSeconds: seconds
          .default(3600)
          .describe("a finished run's leftover worktree goes after this"),
        alertRetentionDays: positive
          .default(30)
          .describe("deliveries and alerts older than this are deleted (never those of live incidents)"),
        deployWarnSeconds: positive
          .default(86400)
          .describe(
            "merged but not running on the incident's host this long: one event and notification (repeated at most daily)",
          ),
      })
      .strict()
      .prefault({}),
    deploy: z
      .object({
        pollSeconds: positive
          .default(300)
          .describe(
            "how often each host's revision is polled (inspection channel, Prometheus) while an incident waits for a deploy",
          ),
        prometheus: z
          .object({
            url: z.url().describe("Prometheus' base URL: a revision source (e.g. comin's metrics)"),
            query: z
              .string()
              .min(1)
              .default('comin_deployment_info{status="done"}')
              .describe("instant query whose series name the host and its deployed revision"),
            hostLabel: z
              .string()
              .min(1)
              .default("host")
              .describe("label holding the host name (falls back to `instance` without its port)"),
            revisionLabel: z.string().min(1).default("commit_id").describe("label holding the revision"),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    notify: z
      .object({
        ntfy: z
          .object({
            url: z
              .url()
              .describe("the ntfy server; `notify.ntfy` is optional: PR opened, needs human, follow-up"),
            topic: z.string().min(1).describe("the topic"),
            tokenFile: secretFile.optional().describe("access token for the topic"),
          })
          .strict()
          .optional()
          .describe("notifications: PR opened, needs human, follow-up"),
      })
      .strict()
      .prefault({}),
    web: z
      .object({
        enable: z.boolean().default(true).describe("serve the web page at `/` (the API keeps bearer auth)"),
        sessionSeconds: positive.default(604800).describe("how long a web sign-in lasts"),
        secureCookies: z
          .boolean()
          .default(false)
          .describe(
            "set the cookie's `Secure` flag even on plain http (behind a TLS proxy that does not say so); always set over https",
          ),
      })
      .strict()
      .prefault({}),
    hosts: z
      .record(z.string(), inspectedHost)
      .superRefine((hosts, ctx) => {
        for (const name of Object.keys(hosts)) {
          if (!isConfigHostName(name)) {
            ctx.addIssue({
              code: "custom",
              path: [name],
              message:
                "a host name is letters, digits and ._:@%+- (no whitespace, control characters or shell syntax)",
            });
          }
        }
      })
      .default({}),
    inspect: z
      .object({
        sshKeyFile: secretFile
          .optional()
          .describe("the inspect account's private key; required with any host; never inside the sandbox"),
        knownHostsFile: secretFile
          .optional()
          .describe("`known_hosts` lines of every host; required with any host: no trust on first use"),
        commands: z
          .array(inspectPattern)
          .default([...DEFAULT_INSPECT_COMMANDS])
          .describe(
            "what `inspect <host> …` may run (OpenCode's wildcard over the whole command; each host checks its own list too)",
          ),
        timeoutSeconds: positive.default(30).describe("one inspected command's wall clock"),
        maxOutputBytes: positive
          .default(32768)
          .describe(
            "one inspected command's output (stdout and stderr); the rest is cut, and the agent told (keep it under OpenCode's own 50 KiB: it truncates a longer output itself, and the notice may not be in what it keeps)",
          ),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (Object.keys(c.hosts).length > 0) {
      // No trust on first use, and no inspection without the inspect account's key.
      for (const key of ["sshKeyFile", "knownHostsFile"] as const) {
        if (c.inspect[key] === undefined) {
          ctx.addIssue({ code: "custom", path: ["inspect", key], message: "required when hosts are set" });
        }
      }
    }
    if (c.forge.type !== "none" && c.repo.url !== undefined) {
      for (const key of ["owner", "repo", "tokenFile"] as const) {
        if (c.forge[key] === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["forge", key],
            message: `required when forge.type is "${c.forge.type}"`,
          });
        }
      }
    }
    if ((c.forge.type === "forgejo" || c.forge.type === "gitea") && c.forge.apiUrl === GITHUB_API_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["forge", "apiUrl"],
        message: `set it to your ${c.forge.type === "gitea" ? "Gitea" : "Forgejo"} server's base URL (e.g. https://git.example.org) when forge.type is "${c.forge.type}"`,
      });
    }
  });

/** The parsed file, defaults filled in. */
export type ConfigFile = z.infer<typeof configSchema>;
