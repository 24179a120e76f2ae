import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ForgeError } from "../../src/forge/errors.js";
import { createForge, type Forge } from "../../src/forge/forge.js";
import {
  createFakeForge,
  FAST_RETRY,
  type FakeForge,
  FORGE_KINDS,
  forgeFaults,
  PR_INPUT,
} from "../support/forges.js";

// The forge contract (SPEC §8), run against the fake GitHub and the fake Forgejo alike.

const FAST = FAST_RETRY;
const INPUT = PR_INPUT;

describe.each(FORGE_KINDS)("%s forge", (kind) => {
  let fake: FakeForge;
  let forge: Forge;
  const make = (o: { token?: string; retries?: number; apiUrl?: string } = {}) =>
    createForge(
      {
        forge: {
          type: kind,
          owner: fake.owner,
          repo: fake.repo,
          apiUrl: o.apiUrl ?? fake.url,
          labels: ["homelab-healer", "incident"],
          draftOnValidationFailure: true,
        },
      },
      { forgeToken: o.token ?? fake.token },
      { retry: { ...FAST, retries: o.retries ?? 3 } },
    );

  beforeEach(async () => {
    fake = await createFakeForge(kind);
    forge = make();
  });
  afterEach(async () => {
    await fake.stop();
  });

  it("creates a labelled PR, and find-or-create reuses the open one", async () => {
    expect(forge.type).toBe(kind);
    const pr = await forge.createPr(INPUT);
    expect(pr).toMatchObject({ number: 1, state: "open", created: true, head: INPUT.head, draft: false });
    expect(pr?.url).toMatch(/\/pulls?\/1$/);
    expect(fake.labels(1)).toEqual(["homelab-healer", "incident"]);
    expect(fake.prs[0]).toMatchObject({ title: INPUT.title, body: INPUT.body, base: "main" });

    const again = await forge.createPr({ ...INPUT, title: "retried" });
    expect(again).toMatchObject({ number: 1, created: false });
    expect(fake.prs).toHaveLength(1);
    expect(await forge.findOpenPr(INPUT.head)).toMatchObject({ number: 1 });
    expect(await forge.findOpenPr("healer/incident-8")).toBeNull();
  });

  it("opens a draft when asked, and reads it back as a draft", async () => {
    const pr = await forge.createPr({ ...INPUT, draft: true });
    expect(pr?.draft).toBe(true);
    expect(fake.prs[0]?.draft).toBe(true);
    expect((await forge.getPr(pr!.number)).draft).toBe(true);
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

  it("comments and deletes branches, a gone branch being fine, a moved one kept", async () => {
    const pr = await forge.createPr(INPUT);
    const c = await forge.comment(pr!.number, "Still happening: 3 more alerts in the last hour.");
    expect(c?.url).toContain("#issuecomment-");
    expect(fake.comments).toEqual([
      { issue: 1, id: c!.id, body: "Still happening: 3 more alerts in the last hour." },
    ]);
    expect(await forge.deleteBranch(INPUT.head, { expectedHead: "0".repeat(40) })).toBe("foreign");
    expect(fake.deletedRefs).toEqual([]);
    expect(await forge.deleteBranch(INPUT.head, { expectedHead: pr!.headSha })).toBe("deleted");
    expect(fake.deletedRefs).toEqual([INPUT.head]);
    expect(await forge.deleteBranch(INPUT.head)).toBe("absent");
    expect(await forge.deleteBranch(INPUT.head, { expectedHead: pr!.headSha })).toBe("absent");
  });

  it("retries a 500 and a 429 without an error reaching the caller", async () => {
    fake.failNext(2, forgeFaults.serverError(kind));
    expect(await forge.createPr(INPUT)).toMatchObject({ number: 1 });
    expect(fake.requests.slice(0, 3).map((r) => r.status)).toEqual([500, 500, 200]);
    fake.failNext(1, forgeFaults.rateLimited(kind, 1));
    expect(await forge.getPr(1)).toMatchObject({ state: "open" });
    expect(fake.requests.at(-2)?.status).toBe(429);
  });

  it("gives up after the retries as forge_unavailable / forge_rate_limited, retryable", async () => {
    fake.failNext(10, forgeFaults.serverError(kind));
    await expect(make({ retries: 2 }).getPr(1)).rejects.toMatchObject({
      code: "forge_unavailable",
      retryable: true,
    });
    expect(fake.requests).toHaveLength(3);
    fake.clearFaults();
    fake.failNext(10, forgeFaults.rateLimited(kind, 1));
    await expect(make({ retries: 1 }).getPr(1)).rejects.toMatchObject({
      code: "forge_rate_limited",
      retryable: true,
    });
  });

  it("maps 404 to forge_rejected and 401 to forge_auth, not retried, no token in the message", async () => {
    await expect(forge.getPr(99)).rejects.toMatchObject({
      code: "forge_rejected",
      status: 404,
      retryable: false,
    });
    expect(fake.requests).toHaveLength(1);
    const err = await make({ token: "wrong-token" })
      .findOpenPr(INPUT.head)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForgeError);
    expect(err).toMatchObject({ code: "forge_auth", retryable: false });
    expect(String((err as Error).message)).not.toContain("wrong-token");
  });

  it("an aborted call rejects with the abort, not a ForgeError", async () => {
    const controller = new AbortController();
    controller.abort();
    const err = await forge.getPr(1, { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(ForgeError);
    expect((err as Error).name).toBe("AbortError");
  });

  it("a server that is not there is forge_unavailable", async () => {
    const url = fake.url;
    await fake.stop();
    await expect(make({ retries: 1, apiUrl: url }).getPr(1)).rejects.toMatchObject({
      code: "forge_unavailable",
      retryable: true,
    });
    fake = await createFakeForge(kind);
  });
});
