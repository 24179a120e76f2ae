import { z } from "zod";
import { configSchema } from "./schema.js";

/** The part of a JSON Schema (as zod 4 writes it) the reference reads. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
}

/** The config schema as JSON Schema (input side: what the file may hold, defaults included). */
export function configJsonSchema(): JsonSchema {
  return z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
}

/** One key of the reference: its dotted path, type, default and meaning. */
export interface ReferenceRow {
  key: string;
  type: string;
  default: string;
  meaning: string;
}

/** An object whose keys are the user's own (a record): `auth.sources.<source>`, `agent.opencodeConfig`. */
function recordValue(s: JsonSchema): JsonSchema | undefined {
  return typeof s.additionalProperties === "object" ? s.additionalProperties : undefined;
}

/** `string`, `integer ≥ 0`, `"a" | "b"`, `string[]`, `{service?, alertName?, message?}[]`, … */
export function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  if (s.anyOf) return s.anyOf.map(typeOf).join(" \\| ");
  if (s.type === "array") return s.items ? `${typeOf(s.items)}[]` : "array";
  if (s.type === "integer") {
    if (s.minimum !== undefined && s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER)
      return `integer ${s.minimum}–${s.maximum}`;
    if (s.exclusiveMinimum === 0) return "integer > 0";
    if (s.minimum === 0) return "integer ≥ 0";
    return "integer";
  }
  if (s.type === "number" && s.minimum === 0) return "number ≥ 0";
  if (s.type === "string" && s.format === "uri") return "URL";
  if (s.type === "object") {
    if (s.properties) return `{${Object.keys(s.properties).join(", ")}}`;
    return "object";
  }
  return Array.isArray(s.type) ? s.type.join(" \\| ") : (s.type ?? "any");
}

function shownDefault(s: JsonSchema): string {
  if (s.default === undefined) return "—";
  if (typeof s.default === "object" && s.default !== null && Object.keys(s.default).length === 0) {
    return Array.isArray(s.default) ? "`[]`" : "`{}`";
  }
  return `\`${JSON.stringify(s.default).replaceAll("|", "\\|")}\``;
}

/**
 * Every key of the config, depth first in schema order: objects with keys of their own are walked
 * (a record's keys shown as `<name>`), everything else is one row.
 */
export function referenceRows(schema: JsonSchema = configJsonSchema()): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  const walk = (s: JsonSchema, path: string) => {
    const value = recordValue(s);
    if (s.type === "object" && s.properties) {
      for (const [k, child] of Object.entries(s.properties)) walk(child, path ? `${path}.${k}` : k);
      return;
    }
    if (s.type === "object" && value?.properties) {
      const name = s.propertyNames?.enum ? "<source>" : "<name>";
      walk(value, `${path}.${name}`);
      return;
    }
    rows.push({
      key: path,
      // A `*File` key names a file holding a secret (relative: under $CREDENTIALS_DIRECTORY).
      type: path.endsWith("File") && s.type === "string" ? "file path" : typeOf(s),
      default: shownDefault(s),
      meaning: (s.description ?? "").replaceAll("|", "\\|"),
    });
  };
  walk(schema, "");
  return rows;
}

/** Keys an object at `path` accepts (for "did you mean"); empty when the path names no object. */
export function keysAt(path: (string | number)[], schema: JsonSchema = configJsonSchema()): string[] {
  let s: JsonSchema | undefined = schema;
  for (const part of path) {
    if (s === undefined) return [];
    if (typeof part === "number") s = s.items;
    else s = s.properties?.[part] ?? recordValue(s);
  }
  if (s?.propertyNames?.enum) return s.propertyNames.enum.map(String);
  return Object.keys(s?.properties ?? {});
}

/** The markdown table README.md holds between its reference markers. */
export function renderReference(schema: JsonSchema = configJsonSchema()): string {
  const lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"];
  for (const r of referenceRows(schema)) {
    lines.push(`| \`${r.key}\` | ${r.type} | ${r.default} | ${r.meaning} |`);
  }
  return lines.join("\n");
}

export const REFERENCE_BEGIN =
  "<!-- config-reference:begin (generated from src/config/schema.ts by `npm run docs:config`; do not edit) -->";
export const REFERENCE_END = "<!-- config-reference:end -->";

/** The README with its reference block replaced; throws when the markers are missing. */
export function withReference(readme: string, reference: string): string {
  const begin = readme.indexOf(REFERENCE_BEGIN);
  const end = readme.indexOf(REFERENCE_END);
  if (begin < 0 || end < begin)
    throw new Error(`README.md has no ${REFERENCE_BEGIN} … ${REFERENCE_END} block`);
  return `${readme.slice(0, begin + REFERENCE_BEGIN.length)}\n${reference}\n${readme.slice(end)}`;
}
