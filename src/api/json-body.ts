import type { z } from "zod";
import { ApiError } from "./errors.js";

/** `application/json` and `application/<x>+json`, with or without parameters. */
export const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/**
 * Reads a JSON body against a schema: 415 when it is labelled anything but JSON (or carries text
 * with no label), 400 when it is not JSON, 422 naming the problem when the shape is wrong. With
 * `emptyOk`, no body at all reads as `{}`.
 */
export async function jsonBody<T>(req: Request, schema: z.ZodType<T>, emptyOk = false): Promise<T> {
  const type = req.headers.get("content-type");
  const text = await req.text();
  if ((type !== null || text !== "") && !JSON_TYPE.test(type ?? ""))
    throw new ApiError(
      "unsupported_media_type",
      `Content-Type must be application/json, got "${type ?? "none"}"`,
    );
  let value: unknown = {};
  if (text.trim() !== "" || !emptyOk) {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new ApiError("malformed", `body is not JSON: ${(e as Error).message}`);
    }
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new ApiError(
      "invalid",
      r.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`).join("; "),
    );
  }
  return r.data;
}
