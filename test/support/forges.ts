import { createFakeForgejo, type FakeForgejo, forgejoConfig } from "./fake-forgejo.js";
import { createFakeGithub, type FakeGithub, forgeConfig } from "./fake-github.js";
import type { Fault } from "./fake-http.js";

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
export function fakeForgeConfig(fake: FakeForge, tokenFile: string) {
  return fake.kind === "github" ? forgeConfig(fake, tokenFile) : forgejoConfig(fake, tokenFile);
}

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
