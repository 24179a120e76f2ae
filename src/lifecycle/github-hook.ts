import type { Hono } from "hono";
import type { IncidentDeps } from "../incidents/deps.js";
import { prHookRouter, validHexHmac } from "./pr-hook.js";

/** True when `header` is `sha256=<hex>` of the HMAC-SHA256 of `body` under `secret` (constant time). */
export function validSignature(secret: string, body: Uint8Array, header: string | undefined): boolean {
  if (header === undefined || !header.startsWith("sha256=")) return false;
  return validHexHmac(secret, body, header.slice("sha256=".length));
}

/**
 * `POST /hooks/github`: PR events signed with the webhook secret (`X-Hub-Signature-256`). `ping`
 * answers 200.
 */
export function githubHookRouter(deps: IncidentDeps, secret: string): Hono {
  return prHookRouter(deps, {
    forge: "github",
    verify: (body, h) => validSignature(secret, body, h("x-hub-signature-256")),
    signatureHeaders: "X-Hub-Signature-256",
    event: (h) => h("x-github-event") ?? "",
    delivery: (h) => h("x-github-delivery"),
    branch: (pr) => pr.head?.ref,
  });
}
