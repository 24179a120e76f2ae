import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createForge, type Forge, noneForge } from "../../src/forge/forge.js";
import { createGithubForge } from "../../src/forge/github.js";
import { createFakeGithub, type FakeGithub, faults } from "../support/fake-github.js";
import { FAST_RETRY, PR_INPUT } from "../support/forges.js";

const FAST = FAST_RETRY;
const INPUT = PR_INPUT;

let fake: FakeGithub;
let forge: Forge;

const make = (overrides: { token?: string; retries?: number } = {}) =>
  createGithubForge({
    apiUrl: fake.url,
    token: overrides.token ?? fake.token,
    owner: fake.owner,
    repo: fake.repo,
    labels: ["homelab-healer", "incident"],
    retry: { ...FAST, retries: overrides.retries ?? 3 },
  });

beforeEach(async () => {
  fake = await createFakeGithub();
  forge = make();
});

afterEach(async () => {
  await fake.stop();
});

// The contract every forge keeps (PRs, drafts, states, comments, branches, retries) is in forges.test.ts;
// what is GitHub's own (its rate-limit shapes, 422) stays here.

describe("errors and retries", () => {
  it("retries a 429 with Retry-After (secondary rate limit)", async () => {
    fake.failNext(1, faults.secondaryRateLimit(1));
    expect(await forge.getPr((await forge.createPr(INPUT))!.number)).toMatchObject({ state: "open" });
    expect(fake.requests[0]?.status).toBe(429);
    expect(fake.requests[1]).toMatchObject({
      method: "GET",
      path: "/repos/homelab/nixos-config/pulls",
      status: 200,
    });
  });

  it("retries a primary rate limit (403, x-ratelimit-remaining: 0)", async () => {
    fake.failNext(1, faults.primaryRateLimit());
    expect(await forge.findOpenPr(INPUT.head)).toBeNull();
    expect(fake.requests.map((r) => r.status)).toEqual([403, 200]);
  });

  it("maps 422 and 404 to forge_rejected, not retried", async () => {
    fake.failNext(1, { status: 422, body: { message: "Validation Failed" } });
    await expect(forge.getPr(1)).rejects.toMatchObject({
      code: "forge_rejected",
      retryable: false,
      status: 422,
    });
    await expect(forge.getPr(99)).rejects.toMatchObject({ code: "forge_rejected", status: 404 });
    expect(fake.requests).toHaveLength(2);
  });

  it("an endless rate limit ends as forge_rate_limited, retryable", async () => {
    fake.failNext(10, faults.secondaryRateLimit(1));
    await expect(make({ retries: 1 }).getPr(1)).rejects.toMatchObject({
      code: "forge_rate_limited",
      retryable: true,
    });
  });
});

describe("createForge", () => {
  it("gives the dry-run forge for type none: nothing leaves the machine", async () => {
    const none = createForge({ forge: { type: "none" } as never }, {});
    expect(none).toBe(noneForge);
    expect(await none.createPr(INPUT)).toBeNull();
    expect(await none.findOpenPr(INPUT.head)).toBeNull();
    expect(await none.deleteBranch(INPUT.head)).toBe("absent");
  });

  it("builds a GitHub forge from the config and the token secret", async () => {
    const config = {
      forge: {
        type: "github" as const,
        owner: fake.owner,
        repo: fake.repo,
        apiUrl: fake.url,
        labels: ["homelab-healer"],
        draftOnValidationFailure: true,
      },
    };
    const gh = createForge(config, { forgeToken: fake.token }, { retry: FAST });
    expect(gh.type).toBe("github");
    await gh.createPr(INPUT);
    expect(fake.labels(1)).toEqual(["homelab-healer"]);
  });
});
