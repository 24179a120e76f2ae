import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forgeChecks } from "../../src/preflight/forge.js";
import { reachFix, repoChecks } from "../../src/preflight/repo.js";
import { createFakeForgejo, type FakeForgejo, type FakeForgejoOptions } from "../support/fake-forgejo.js";
import { createFakeGithub, type FakeGithub } from "../support/fake-github.js";
import { createHomelabRemote, type HomelabRemote } from "../support/git-remote.js";
import { closedPort, scratch } from "./support.js";

describe("the repo check", () => {
  const s = scratch();
  let remote: HomelabRemote;
  beforeAll(async () => {
    remote = await createHomelabRemote(s.dir);
  });
  afterAll(() => s.cleanup());

  it("passes for a reachable repo with the branch, naming its head", async () => {
    const [r] = await repoChecks(s.ctx({ repo: { url: remote.url }, forge: { type: "none" } }));
    expect(r).toMatchObject({ name: "repo", status: "ok" });
    expect(r!.found).toMatch(/reachable; main at [0-9a-f]{12}$/);
  });

  it("fails for a path with no repository", async () => {
    const url = `${s.dir}/no-such-repo.git`;
    const [r] = await repoChecks(s.ctx({ repo: { url }, forge: { type: "none" } }));
    expect(r).toMatchObject({ name: "repo", status: "fail" });
    expect(r!.found).toContain(`cannot reach repo.url ${url}`);
    // A local repository involves no deploy key: the advice is about the path.
    expect(r!.fix).toContain("local repository: check that the path exists");
    expect(r!.fix).not.toContain("sshKeyFile");
    const [f] = await repoChecks(s.ctx({ repo: { url: `file://${url}` }, forge: { type: "none" } }));
    expect(f!.fix).toContain("local repository");
  });

  it("names the deploy key only for an ssh URL", async () => {
    expect(reachFix("git@github.com:me/homelab.git")).toContain("repo.sshKeyFile");
    expect(reachFix("ssh://git@git.lan:2222/me/homelab.git")).toContain("repo.sshKeyFile");
    expect(reachFix("https://github.com/me/homelab.git")).not.toContain("deploy key");
    expect(reachFix("/srv/git/homelab.git")).toContain("local repository");
  });

  it("fails for a closed port, and never prints the URL's credentials", async () => {
    const url = `http://healer:url-password-5678@127.0.0.1:${await closedPort()}/homelab.git`;
    const [r] = await repoChecks(s.ctx({ repo: { url }, forge: { type: "none" } }));
    expect(r).toMatchObject({ name: "repo", status: "fail" });
    expect(r!.found).toMatch(
      /cannot reach repo.url http:\/\/\*\*\*@127\.0\.0\.1:\d+\/homelab\.git: .*(connect|refused)/i,
    );
    expect(JSON.stringify(r)).not.toContain("url-password-5678");
  });

  it("fails when repo.branch does not exist", async () => {
    const [r] = await repoChecks(
      s.ctx({ repo: { url: remote.url, branch: "production" }, forge: { type: "none" } }),
    );
    expect(r).toMatchObject({ name: "repo", status: "fail" });
    expect(r!.found).toContain("has no branch production");
  });

  it("fails naming repo.sshKeyFile when the deploy key is missing", async () => {
    const ctx = s.ctx({ repo: { url: remote.url, sshKeyFile: `${s.dir}/no-key` }, forge: { type: "none" } });
    const [r] = await repoChecks(ctx);
    expect(r).toMatchObject({ name: "repo", status: "fail" });
    expect(r!.found).toContain("repo.sshKeyFile: cannot read");
  });

  it("only warns when no repo is configured", async () => {
    const [r] = await repoChecks(s.ctx({ forge: { type: "none" } }));
    expect(r).toMatchObject({ name: "repo", status: "warn" });
  });
});

describe("the forge check against the fake GitHub", () => {
  const s = scratch();
  const fakes: FakeGithub[] = [];
  afterAll(async () => {
    for (const f of fakes) await f.stop();
    s.cleanup();
  });
  const forge = async (opts: Parameters<typeof createFakeGithub>[0] = {}, token?: string) => {
    const gh = await createFakeGithub(opts);
    fakes.push(gh);
    const tokenFile = s.file(`gh-token-${fakes.length}`, `${token ?? gh.token}\n`);
    return forgeChecks(
      s.ctx({
        repo: { url: "file:///unused" },
        forge: { owner: gh.owner, repo: gh.repo, apiUrl: gh.url, tokenFile },
      }),
    );
  };

  it("passes for a token that can read, push and open pull requests; missing labels get created", async () => {
    const [r, labels] = await forge();
    expect(r).toMatchObject({ name: "forge", status: "ok" });
    expect(r!.found).toContain("the token can read, push and open pull requests");
    expect(labels).toMatchObject({ name: "forge-labels", status: "ok" });
    expect(labels!.found).toContain("homelab-healer will be created");
  });

  it("sees labels that exist", async () => {
    const [, labels] = await forge({ repoLabels: ["homelab-healer"] });
    expect(labels).toMatchObject({ status: "ok", found: "labels exist: homelab-healer" });
  });

  it("fails when GitHub rejects the token (401), without printing it", async () => {
    const results = await forge({}, "ghp_rejected-token-value");
    expect(results[0]).toMatchObject({ name: "forge", status: "fail" });
    expect(results[0]!.found).toContain("GitHub rejected the token of forge.tokenFile (401 Bad credentials)");
    expect(JSON.stringify(results)).not.toContain("ghp_rejected-token-value");
  });

  it("fails for a read-only token, naming its permissions", async () => {
    const [r] = await forge({
      permissions: { admin: false, maintain: false, push: false, triage: false, pull: true },
    });
    expect(r).toMatchObject({ name: "forge", status: "fail" });
    expect(r!.found).toContain(
      "can read homelab/nixos-config but not push to it or open pull requests (permissions: pull)",
    );
  });

  it("fails for a fine-grained token without pull_requests: write", async () => {
    const [r] = await forge({ pullRequestsWrite: false });
    expect(r).toMatchObject({ name: "forge", status: "fail" });
    expect(r!.found).toContain("it lacks pull_requests: write");
    expect(r!.found).toContain("GitHub wants pull_requests=write");
  });

  it("fails for a repository the token cannot see", async () => {
    const gh = await createFakeGithub();
    fakes.push(gh);
    const tokenFile = s.file("gh-token-other", `${gh.token}\n`);
    const [r] = await forgeChecks(
      s.ctx({
        repo: { url: "file:///unused" },
        forge: { owner: "someone", repo: "else", apiUrl: gh.url, tokenFile },
      }),
    );
    expect(r).toMatchObject({ name: "forge", status: "fail" });
    expect(r!.found).toContain("cannot see someone/else (404");
  });

  it("fails naming forge.tokenFile when it points at nothing", async () => {
    const [r] = await forgeChecks(
      s.ctx({
        repo: { url: "file:///unused" },
        forge: { owner: "o", repo: "r", apiUrl: "http://127.0.0.1:9", tokenFile: `${s.dir}/nothing` },
      }),
    );
    expect(r).toMatchObject({ name: "forge", status: "fail" });
    expect(r!.found).toContain(`forge.tokenFile: cannot read ${s.dir}/nothing (ENOENT)`);
  });

  it("fails when the API does not answer", async () => {
    const tokenFile = s.file("gh-token-closed", "some-token-abcd\n");
    const [r] = await forgeChecks(
      s.ctx({
        repo: { url: "file:///unused" },
        forge: { owner: "o", repo: "r", apiUrl: `http://127.0.0.1:${await closedPort()}`, tokenFile },
      }),
    );
    expect(r).toMatchObject({ name: "forge", status: "fail" });
    expect(r!.found).toContain("ECONNREFUSED");
  });

  it("only warns for forge.type none (a dry run)", async () => {
    const [r] = await forgeChecks(s.ctx({ forge: { type: "none" } }));
    expect(r).toMatchObject({ name: "forge", status: "warn" });
  });

  it("opens no pull request while checking", async () => {
    const gh = await createFakeGithub();
    fakes.push(gh);
    const tokenFile = s.file("gh-token-count", `${gh.token}\n`);
    await forgeChecks(
      s.ctx({
        repo: { url: "file:///unused" },
        forge: { owner: gh.owner, repo: gh.repo, apiUrl: gh.url, tokenFile },
      }),
    );
    expect(gh.prs).toEqual([]);
    expect(gh.requests.find((q) => q.method === "POST" && q.path.endsWith("/pulls"))?.status).toBe(422);
  });
});

describe("the forge check against the fake Forgejo", () => {
  const s = scratch();
  const fakes: FakeForgejo[] = [];
  afterAll(async () => {
    for (const f of fakes) await f.stop();
    s.cleanup();
  });
  const check = async (opts: FakeForgejoOptions = {}, token?: string) => {
    const f = await createFakeForgejo(opts);
    fakes.push(f);
    const tokenFile = s.file(`fj-token-${fakes.length}`, `${token ?? f.token}\n`);
    const results = await forgeChecks(
      s.ctx({
        repo: { url: "file:///unused" },
        forge: { type: "forgejo", owner: f.owner, repo: f.repo, apiUrl: f.url, tokenFile },
      }),
    );
    return { f, results };
  };

  it("reports the version and passes for a token with write:repository and write:issue, creating nothing", async () => {
    const { f, results } = await check();
    expect(results[0]).toMatchObject({ name: "forge-version", status: "ok" });
    expect(results[0]!.found).toContain("forgejo 11.0.1+gitea-1.22.0");
    expect(results[1]).toMatchObject({ name: "forge", status: "ok" });
    expect(f.prs).toHaveLength(0);
    expect(f.labelIds.size).toBe(0);
    // The two write probes got as far as the body's validation: the scopes are there.
    const probes = f.requests.filter((r) => r.method === "POST").map((r) => [r.path, r.status]);
    expect(probes).toEqual([
      ["/api/v1/repos/homelab/nixos-config/pulls", 422],
      ["/api/v1/repos/homelab/nixos-config/labels", 422],
    ]);
  });

  it("names write:issue for a token without it", async () => {
    const { results } = await check({ scopes: ["write:repository", "read:issue"] });
    const r = results.find((x) => x.name === "forge");
    expect(r).toMatchObject({ status: "fail" });
    expect(r!.found).toContain(
      "the token lacks the scope write:issue (to label pull requests and comment on them)",
    );
    expect(r!.fix).toContain("write:repository and write:issue");
  });

  it("names write:repository for a read-only repository token, and read:repository when even that is missing", async () => {
    const ro = (await check({ scopes: ["read:repository", "write:issue"] })).results.find(
      (x) => x.name === "forge",
    );
    expect(ro!.found).toContain(
      "lacks the scope write:repository (to open pull requests and delete branches)",
    );
    const none = (await check({ scopes: ["write:issue"] })).results.find((x) => x.name === "forge");
    expect(none!.found).toContain("lacks the scope read:repository");
  });

  it("fails for a user who may not push (permissions are the role, not the token)", async () => {
    const { results } = await check({ permissions: { admin: false, push: false, pull: true } });
    const r = results.find((x) => x.name === "forge");
    expect(r).toMatchObject({ status: "fail" });
    expect(r!.found).toContain("can read homelab/nixos-config but not push to it (permissions: pull)");
  });

  it("fails for an archived repository", async () => {
    const { results } = await check({ archived: true });
    expect(results.find((x) => x.name === "forge")!.found).toContain("homelab/nixos-config is archived (423");
  });

  it("fails when the server rejects the token, without printing it", async () => {
    const { results } = await check({}, "forgejo-rejected-token-value");
    const r = results.find((x) => x.name === "forge");
    expect(r!.found).toContain("the server rejected the token of forge.tokenFile (401 token is required)");
    expect(JSON.stringify(results)).not.toContain("forgejo-rejected-token-value");
  });

  it("fails when forge.apiUrl is not a Forgejo server", async () => {
    const tokenFile = s.file("fj-token-closed", "some-token-abcd\n");
    const [r] = await forgeChecks(
      s.ctx({
        repo: { url: "file:///unused" },
        forge: {
          type: "gitea",
          owner: "o",
          repo: "r",
          apiUrl: `http://127.0.0.1:${await closedPort()}`,
          tokenFile,
        },
      }),
    );
    expect(r).toMatchObject({ name: "forge", status: "fail" });
    expect(r!.found).toContain("ECONNREFUSED");
  });
});
