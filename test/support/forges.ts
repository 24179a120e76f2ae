import { createFakeForgejo, type FakeForgejo } from "./fake-forgejo.js";
import { createFakeGithub, type FakeGithub } from "./fake-github.js";
import { type Fault, fakeForgeBlock } from "./fake-http.js";

/** The forges the shared forge, lifecycle and e2e tests run against. */
export const FORGE_KINDS = ["github", "forgejo"] as const;
export type ForgeKind = (typeof FORGE_KINDS)[number];

/** A fake GitHub or a fake Forgejo: what the shared tests inspect. */
export type FakeForge = FakeGithub | FakeForgejo;

/** Starts the fake of `kind`; with `bareRepo` its branches are the bare repo's. */
export function createFakeForge(kind: ForgeKind, opts: { bareRepo?: string } = {}): Promise<FakeForge> {
  return kind === "github" ? createFakeGithub(opts) : createFakeForgejo(opts);
}

/** The `forge` config block for the fake (its token written to `tokenFile`). */
export const fakeForgeConfig: (fake: FakeForge, tokenFile: string) => ReturnType<typeof fakeForgeBlock> =
  fakeForgeBlock;

/** A PR as a run asks for it, and a retry policy that does not wait: for the forge tests. */
export const PR_INPUT = {
  head: "healer/incident-7",
  base: "main",
  title: "media-01: mount NFS before jellyfin",
  body: "## What broke\njellyfin could not read /mnt/media",
  draft: false,
};
export const FAST_RETRY = { baseDelayMs: 1, paceWrites: false };

/** Faults each forge answers in its own words (a 500; a 429 with Retry-After). */
export const forgeFaults = {
  serverError: (kind: ForgeKind): Fault =>
    kind === "github"
      ? { status: 500, body: { message: "Server Error" } }
      : { status: 500, body: { message: "", url: "" } },
  rateLimited: (kind: ForgeKind, retryAfter = 1): Fault =>
    kind === "github"
      ? {
          status: 429,
          headers: { "retry-after": String(retryAfter) },
          body: {
            message:
              "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
          },
        }
      : // A reverse proxy's or Forgejo's [api] rate limiter: 429 with Retry-After.
        {
          status: 429,
          headers: { "retry-after": String(retryAfter) },
          body: { message: "Too Many Requests" },
        },
};
