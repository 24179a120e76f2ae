import type { Hono } from "hono";
import type { IncidentDeps } from "../incidents/deps.js";
import { prHookRouter, validHexHmac } from "./pr-hook.js";

/**
 * `POST /hooks/forgejo` (Forgejo and Gitea): the signature is the bare hex HMAC-SHA256 of the raw
 * body (no `sha256=` prefix) in `X-Forgejo-Signature`, or `X-Gitea-Signature` from Gitea and from
 * Forgejo's compatibility headers (Forgejo services/webhook/shared/payloader.go AddDefaultHeaders;
 * Gitea services/webhook/deliver.go). The body is pretty-printed JSON (MarshalIndent there), so the
 * raw bytes are hashed, never a re-serialisation. A merge is `action: "closed"` with
 * `pull_request.merged: true`; the branch is `head.label` (`head.ref` may already read
 * `refs/pull/N/head` when the branch is gone).
 */
export function forgejoHookRouter(deps: IncidentDeps, secret: string): Hono {
  return prHookRouter(deps, {
    forge: "forgejo",
    verify: (body, h) => {
      const sig = h("x-forgejo-signature") ?? h("x-gitea-signature");
      return validHexHmac(secret, body, sig);
    },
    signatureHeaders: "X-Forgejo-Signature / X-Gitea-Signature",
    event: (h) => h("x-forgejo-event") ?? h("x-gitea-event") ?? "",
    delivery: (h) => h("x-forgejo-delivery") ?? h("x-gitea-delivery"),
    branch: (pr) => pr.head?.label ?? pr.head?.ref,
    // The form encoding signs the JSON payload but sends `payload=<urlencoded>`: nothing to verify against.
    refuse: (type) =>
      /application\/x-www-form-urlencoded/i.test(type)
        ? "form-encoded webhook: in the repository's webhook settings set POST Content Type to application/json"
        : undefined,
  });
}
