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
const regex = z.string().refine(
  (v) => {
    try {
      new RegExp(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: "not a valid regular expression" },
);

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
    address: z.string().refine((a) => isHostName(a) && !a.startsWith("-"), {
      message: "must not be empty, start with - or contain whitespace or control characters",
    }),
    port: z.number().int().min(1).max(65535).default(22),
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_.-]*$/i, "must be a plain user name")
      .default("healer-inspect"),
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
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(8470),
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
          .optional(),
      })
      .strict()
      .prefault({}),
    stateDir: z.string().default("./.homelab-healer"),
    auth: z
      .object({
        tokenFile: secretFile.optional(),
        sources: z
          .partialRecord(z.enum(TOKEN_SOURCES), z.object({ tokenFile: secretFile }).strict())
          .default({}),
        github: z.object({ webhookSecretFile: secretFile.optional() }).strict().prefault({}),
      })
      .strict()
      .prefault({}),
    repo: z
      .object({
        url: z.string().min(1).optional(),
        branch: z.string().min(1).default("main"),
        sshKeyFile: secretFile.optional(),
        knownHostsFile: z.string().min(1).optional(),
        protectedPaths: z.array(z.string().min(1)).default(DEFAULT_PROTECTED_PATHS),
        maxChangedFiles: positive.default(20),
        maxDiffLines: positive.default(600),
        authorName: z.string().min(1).default("homelab-healer"),
        authorEmail: z.string().min(3).default("homelab-healer@localhost"),
      })
      .strict()
      .prefault({}),
    forge: z
      .object({
        type: z.enum(["github", "none"]).default("github"),
        owner: z.string().min(1).optional(),
        repo: z.string().min(1).optional(),
        apiUrl: z.url().default("https://api.github.com"),
        tokenFile: secretFile.optional(),
        labels: z.array(z.string().min(1)).default(["homelab-healer"]),
        draftOnValidationFailure: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    agent: z
      .object({
        command: z.string().min(1).default("opencode"),
        args: z.array(z.string()).optional(),
        model: z
          .string()
          .regex(/^[^/]+\/.+$/, "must be provider/model")
          .optional(),
        opencodeConfig: z.record(z.string(), z.unknown()).default({}),
        environmentFile: secretFile.optional(),
        timeoutSeconds: positive.default(1800),
        idleTimeoutSeconds: positive.default(600),
        maxConcurrentRuns: positive.default(1),
        maxAttempts: positive.default(2),
        maxRunsPerDay: seconds.default(20),
        /** Daily cap on the provider-reported cost of runs (its unit); unset: no limit. */
        maxCostPerDay: z.number().nonnegative().optional(),
        allowedCommands: z.array(z.string().min(1)).default(DEFAULT_ALLOWED_COMMANDS),
        sandbox: z.enum(["bubblewrap", "none"]).default("bubblewrap"),
        // allowlist: own network namespace, out only through the run's proxy; host: the host's network.
        network: z.enum(["allowlist", "host"]).default("allowlist"),
        allowedHosts: z.array(hostPattern).default([]),
      })
      .strict()
      .prefault({}),
    validate: z
      .object({
        command: z.array(z.string()).min(1).optional(),
        timeoutSeconds: positive.default(900),
      })
      .strict()
      .prefault({}),
    triage: z
      .object({
        minOccurrences: positive.default(1),
        windowSeconds: positive.default(900),
        settleSeconds: seconds.default(60),
        ignore: z.array(ignoreRule).default([]),
      })
      .strict()
      .prefault({}),
    lifecycle: z
      .object({
        staleSeconds: positive.default(2700),
        deployGraceSeconds: seconds.default(1800),
        verifySeconds: positive.default(7200),
        maxFollowUps: seconds.default(2),
        prPollSeconds: positive.default(300),
        dismissCooldownSeconds: seconds.default(86400),
        worktreeRetentionSeconds: seconds.default(3600),
        alertRetentionDays: positive.default(30),
        /** Merged but not running on the incident's host this long: one warning (repeated at most daily). */
        deployWarnSeconds: positive.default(86400),
      })
      .strict()
      .prefault({}),
    deploy: z
      .object({
        /** Polling each host's revision (inspection, Prometheus) while an incident waits for a deploy. */
        pollSeconds: positive.default(300),
        prometheus: z
          .object({
            url: z.url(),
            query: z.string().min(1).default('comin_deployment_info{status="done"}'),
            hostLabel: z.string().min(1).default("host"),
            revisionLabel: z.string().min(1).default("commit_id"),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    notify: z
      .object({
        ntfy: z
          .object({ url: z.url(), topic: z.string().min(1), tokenFile: secretFile.optional() })
          .strict()
          .optional(),
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
        sshKeyFile: secretFile.optional(),
        knownHostsFile: secretFile.optional(),
        commands: z.array(inspectPattern).default([...DEFAULT_INSPECT_COMMANDS]),
        timeoutSeconds: positive.default(30),
        maxOutputBytes: positive.default(65536),
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
    if (c.forge.type === "github" && c.repo.url !== undefined) {
      for (const key of ["owner", "repo", "tokenFile"] as const) {
        if (c.forge[key] === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["forge", key],
            message: `required when forge.type is "github"`,
          });
        }
      }
    }
  });

/** The parsed file, defaults filled in. */
export type ConfigFile = z.infer<typeof configSchema>;
