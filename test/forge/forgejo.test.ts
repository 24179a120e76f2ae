import { afterEach, describe, expect, it } from "vitest";
import { createForge, type Forge } from "../../src/forge/forge.js";
import { existingPrIndex } from "../../src/forge/forgejo.js";
import { createFakeForgejo, type FakeForgejo, type FakeForgejoOptions } from "../support/fake-forgejo.js";

// What only Forgejo/Gitea do (the shared contract is in forges.test.ts): 409, WIP titles, label ids,
// paging without a head filter, head.ref after the branch is gone, scopes.

const INPUT = { head: "healer/incident-7", base: "main", title: "fix nfs", body: "b", draft: false };

let fake: FakeForgejo | undefined;
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

async function setup(
  opts: FakeForgejoOptions = {},
  type: "forgejo" | "gitea" = "forgejo",
): Promise<{ f: FakeForgejo; forge: Forge }> {
  const f = await createFakeForgejo(opts);
  fake = f;
  const forge = createForge(
    {
      forge: {
        type,
        owner: f.owner,
        repo: f.repo,
        apiUrl: `${f.url}/api/v1/`, // a trailing /api/v1 is taken as given
        labels: ["homelab-healer", "incident"],
        draftOnValidationFailure: true,
      },
    },
    { forgeToken: f.token },
    { retry: { baseDelayMs: 1, retries: 2 } },
  );
  return { f, forge };
}

describe("Forgejo/Gitea quirks", () => {
  it("a 409 on create reuses the PR it names (opened since we looked)", async () => {
    const { f, forge } = await setup();
    const other = f.seedPr(INPUT.head, "opened by another instance");
    // The list answered before the other PR existed: empty. Then POST /pulls meets it: 409.
    f.failNext(1, { status: 200, body: [], headers: { "x-total-count": "0" } });
    const pr = await forge.createPr(INPUT);
    expect(pr).toMatchObject({ number: other.number, created: false, head: INPUT.head });
    const post = f.requests.find((r) => r.method === "POST" && r.path.endsWith("/pulls"));
    expect(post?.status).toBe(409);
    expect(f.prs).toHaveLength(1);
    expect(f.labels(other.number)).toEqual(["homelab-healer", "incident"]);
    expect(
      existingPrIndex(
        "pull request already exists for these targets [id: 77, issue_id: 12, head_repo_id: 1, base_repo_id: 1, head_branch: x, base_branch: main]",
      ),
    ).toBe(12);
  });

  it("searches the second page of open PRs (limit 50, X-Total-Count)", async () => {
    const { f, forge } = await setup();
    for (let i = 0; i < 55; i++) f.seedPr(`feature/other-${i}`);
    const mine = await forge.createPr(INPUT);
    expect(mine).toMatchObject({ number: 56, created: true });
    const found = await forge.findOpenPr(INPUT.head);
    expect(found).toMatchObject({ number: 56 });
    const pages = f.requests.filter((r) => r.method === "GET" && r.path.endsWith("/pulls"));
    expect(pages.at(-1)?.query).toMatchObject({ state: "open", limit: "50", page: "2" });
    expect(await forge.createPr(INPUT)).toMatchObject({ number: 56, created: false });
    expect(f.prs).toHaveLength(56);
  });

  it("a server whose only WIP prefix is [WIP] still yields a draft that reads back as draft", async () => {
    const { f, forge } = await setup({ wipPrefixes: ["[WIP]"] });
    const pr = await forge.createPr({ ...INPUT, draft: true });
    expect(pr).toMatchObject({ draft: true, created: true });
    expect(f.prs[0]?.title).toBe("[WIP] fix nfs");
    expect((await forge.getPr(pr!.number)).draft).toBe(true);
  });

  it("a default server takes WIP: in one call; an older one without `draft` is read by the title", async () => {
    const { f, forge } = await setup({ reportsDraft: false });
    const pr = await forge.createPr({ ...INPUT, draft: true });
    expect(pr?.draft).toBe(true);
    expect(f.prs[0]?.title).toBe("WIP: fix nfs");
    expect(f.requests.some((r) => r.method === "PATCH")).toBe(false);
    const plain = await forge.createPr({ ...INPUT, head: "healer/incident-8" });
    expect(plain?.draft).toBe(false);
  });

  it("labels by id: existing ones found, missing ones created once, then reused", async () => {
    const { f, forge } = await setup({ repoLabels: ["bug", "incident"] });
    await forge.createPr(INPUT);
    await forge.createPr({ ...INPUT, head: "healer/incident-8" });
    expect(f.labels(1)).toEqual(["homelab-healer", "incident"]);
    expect(f.labels(2)).toEqual(["homelab-healer", "incident"]);
    const created = f.requests.filter((r) => r.method === "POST" && r.path.endsWith("/labels"));
    expect(created.map((r) => r.body)).toEqual([{ name: "homelab-healer", color: "#ededed" }]);
    const create = f.requests.find((r) => r.method === "POST" && r.path.endsWith("/pulls"));
    expect(create?.body).toMatchObject({ labels: [3, 2] });
  });

  it("after the branch is deleted, head.ref reads refs/pull/N/head and the PR keeps its branch name", async () => {
    const { f, forge } = await setup();
    const pr = await forge.createPr(INPUT);
    f.merge(pr!.number);
    expect(await forge.deleteBranch(INPUT.head, { expectedHead: pr!.headSha })).toBe("deleted");
    const raw = (await (
      await fetch(`${f.url}/api/v1/repos/${f.owner}/${f.repo}/pulls/${pr!.number}`, {
        headers: { authorization: `token ${f.token}` },
      })
    ).json()) as { head: { ref: string; label: string }; merged: boolean; merge_commit_sha: string };
    expect(raw.head).toMatchObject({ ref: `refs/pull/${pr!.number}/head`, label: INPUT.head });
    expect(raw.merge_commit_sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await forge.getPr(pr!.number)).toMatchObject({ state: "merged", head: INPUT.head });
  });

  it("refuses to delete the default branch (403), and a token without write:issue fails naming it", async () => {
    const { forge } = await setup({ scopes: ["write:repository"] }, "gitea");
    expect(forge.type).toBe("gitea");
    await expect(forge.deleteBranch("main")).rejects.toMatchObject({ status: 403, retryable: false });
    const err = await forge.createPr(INPUT).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "forge_auth", status: 403, retryable: false });
    // Listing the labels comes first, and write:issue would have included read:issue.
    expect((err as Error).message).toContain("required scope(s): [read:issue]");
  });

  it("an answer of the wrong shape is a clear, non-retryable error", async () => {
    const { f, forge } = await setup();
    f.failNext(1, { status: 200, body: { number: "one" } });
    await expect(forge.getPr(1)).rejects.toMatchObject({ code: "forge_rejected", retryable: false });
    await expect(
      (async () => {
        f.failNext(1, { status: 200, body: { number: "one" } });
        return forge.getPr(1);
      })(),
    ).rejects.toThrow(/read PR #1: unexpected answer \(number: /);
  });
});
