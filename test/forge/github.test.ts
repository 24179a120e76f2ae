import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ForgeError } from "../../src/forge/errors.js";
import { createForge, type Forge, noneForge } from "../../src/forge/forge.js";
import { createGithubForge } from "../../src/forge/github.js";
import { createFakeGithub, type FakeGithub, faults } from "../support/fake-github.js";

const FAST = { baseDelayMs: 1, paceWrites: false };
const INPUT = {
  head: "healer/incident-7",
  base: "main",
  title: "media-01: mount NFS before jellyfin",
  body: "## What broke\njellyfin could not read /mnt/media",
  draft: false,
};

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

describe("pull requests", () => {
  it("creates a labelled PR, and find-or-create reuses the open one", async () => {
    const pr = await forge.createPr(INPUT);
    expect(pr).toMatchObject({ number: 1, state: "open", created: true, head: INPUT.head, draft: false });
    expect(pr?.url).toMatch(/\/pull\/1$/);
    expect(fake.labels(1)).toEqual(["homelab-healer", "incident"]);
    expect(fake.prs[0]).toMatchObject({ title: INPUT.title, body: INPUT.body, base: "main" });

    const again = await forge.createPr({ ...INPUT, title: "retried" });
    expect(again).toMatchObject({ number: 1, created: false });
    expect(fake.prs).toHaveLength(1);
    expect(await forge.findOpenPr(INPUT.head)).toMatchObject({ number: 1 });
    expect(await forge.findOpenPr("healer/incident-8")).toBeNull();
  });

  it("opens a draft when asked", async () => {
    const pr = await forge.createPr({ ...INPUT, draft: true });
    expect(pr?.draft).toBe(true);
    expect(fake.prs[0]?.draft).toBe(true);
  });

  it("reads merged and closed states", async () => {
    const a = await forge.createPr(INPUT);
    const b = await forge.createPr({ ...INPUT, head: "healer/incident-8" });
    expect((await forge.getPr(a!.number)).state).toBe("open");
    fake.merge(a!.number);
    fake.close(b!.number);
    const merged = await forge.getPr(a!.number);
    expect(merged.state).toBe("merged");
    expect(merged.mergedAt).toBeInstanceOf(Date);
    expect(await forge.getPr(b!.number)).toMatchObject({ state: "closed", mergedAt: null });
    // A closed PR no longer counts: the next create opens a new one.
    expect(await forge.createPr({ ...INPUT, head: "healer/incident-8" })).toMatchObject({
      number: 3,
      created: true,
    });
  });

  it("closes a PR without merging, idempotently", async () => {
    const pr = await forge.createPr(INPUT);
    expect(await forge.closePr(pr!.number)).toMatchObject({ state: "closed", mergedAt: null });
    expect(await forge.closePr(pr!.number)).toMatchObject({ state: "closed" });
    expect(fake.prs[0]?.state).toBe("closed");
  });

  it("comments and deletes branches, a gone branch being fine", async () => {
    const pr = await forge.createPr(INPUT);
    const c = await forge.comment(pr!.number, "Still happening: 3 more alerts in the last hour.");
    expect(c?.url).toContain("#issuecomment-");
    expect(fake.comments).toEqual([
      { issue: 1, id: c!.id, body: "Still happening: 3 more alerts in the last hour." },
    ]);
    expect(await forge.deleteBranch(INPUT.head)).toBe("deleted");
    expect(fake.deletedRefs).toEqual([INPUT.head]);
    expect(await forge.deleteBranch(INPUT.head)).toBe("absent");
  });
});

describe("errors and retries", () => {
  it("retries a 500 and then succeeds", async () => {
    fake.failNext(2, faults.serverError());
    expect(await forge.createPr(INPUT)).toMatchObject({ number: 1 });
    expect(fake.requests.slice(0, 3).map((r) => r.status)).toEqual([500, 500, 200]);
  });

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

  it("maps 401 to forge_auth", async () => {
    const bad = make({ token: "wrong" });
    const err = await bad.findOpenPr(INPUT.head).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err).toMatchObject({ code: "forge_auth", retryable: false });
    expect(String((err as Error).message)).not.toContain("wrong");
  });

  it("gives up after the retries as forge_unavailable, retryable", async () => {
    const patient = make({ retries: 2 });
    fake.failNext(10, faults.unavailable());
    await expect(patient.getPr(1)).rejects.toMatchObject({ code: "forge_unavailable", retryable: true });
    expect(fake.requests).toHaveLength(3);
  });

  it("an endless rate limit ends as forge_rate_limited, retryable", async () => {
    fake.failNext(10, faults.secondaryRateLimit(1));
    await expect(make({ retries: 1 }).getPr(1)).rejects.toMatchObject({
      code: "forge_rate_limited",
      retryable: true,
    });
  });

  it("an aborted call rejects with the abort, not a ForgeError", async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await forge.getPr(1, { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ForgeError);
    expect((err as Error).name).toBe("AbortError");
  });

  it("a server that is not there is forge_unavailable", async () => {
    await fake.stop();
    const gone = createGithubForge({
      apiUrl: fake.url,
      token: "t",
      owner: "o",
      repo: "r",
      labels: [],
      retry: { ...FAST, retries: 1 },
    });
    await expect(gone.getPr(1)).rejects.toMatchObject({ code: "forge_unavailable", retryable: true });
    fake = await createFakeGithub();
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
