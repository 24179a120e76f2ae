import type { ForgejoClient } from "./forgejo-http.js";
import { labelListSchema, labelSchema } from "./forgejo-schemas.js";

/** The colour of labels we create (Forgejo requires one; `#ededed` is GitHub's default grey). */
const LABEL_COLOR = "#ededed";

/** Labels by id: the PR routes take ids, and silently drop ids the repository does not know. */
export interface ForgejoLabels {
  /** The ids of the configured label names, creating the missing ones in the repository. */
  ids(signal?: AbortSignal): Promise<number[]>;
  /** Adds the configured labels to issue/PR `number` (`POST /issues/{n}/labels`). */
  addTo(number: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Resolves label names to ids once per process: repository labels, then the owner's organisation
 * labels (a user-owned repo answers 404 there, which is fine), then creates what is still missing.
 */
export function createForgejoLabels(
  client: ForgejoClient,
  o: { owner: string; repoPath: string; names: string[] },
): ForgejoLabels {
  let resolved: Promise<number[]> | undefined;

  const list = async (path: string, signal?: AbortSignal) => {
    const all: { id: number; name: string }[] = [];
    for (let page = 1; page <= 20; page++) {
      const { status, data } = await client.call({
        method: "GET",
        path,
        query: { limit: 50, page },
        schema: labelListSchema,
        accept: [404],
        signal,
        what: "list labels",
      });
      if (status === 404) return all;
      all.push(...data);
      if (data.length < 50) break;
    }
    return all;
  };

  const resolve = async (signal?: AbortSignal): Promise<number[]> => {
    const known = new Map<string, number>();
    for (const l of await list(`/orgs/${encodeURIComponent(o.owner)}/labels`, signal))
      known.set(l.name, l.id);
    // Repository labels win over organisation labels of the same name.
    for (const l of await list(`${o.repoPath}/labels`, signal)) known.set(l.name, l.id);
    const ids: number[] = [];
    for (const name of o.names) {
      let id = known.get(name);
      if (id === undefined) {
        const { data } = await client.call({
          method: "POST",
          path: `${o.repoPath}/labels`,
          body: { name, color: LABEL_COLOR },
          schema: labelSchema,
          signal,
          what: `create label ${name}`,
        });
        id = data.id;
      }
      ids.push(id);
    }
    return ids;
  };

  const ids = (signal?: AbortSignal) => {
    if (o.names.length === 0) return Promise.resolve([]);
    // A failed lookup is not cached: the next PR tries again.
    resolved ??= resolve(signal).catch((e: unknown) => {
      resolved = undefined;
      throw e;
    });
    return resolved;
  };

  return {
    ids,
    async addTo(number, signal) {
      const labels = await ids(signal);
      if (labels.length === 0) return;
      await client.call({
        method: "POST",
        path: `${o.repoPath}/issues/${number}/labels`,
        body: { labels },
        signal,
        what: `label PR #${number}`,
      });
    },
  };
}
