import { findOnPath, firstLine } from "./exec.js";
import { agentOutput, trialInLane } from "./trial.js";
import { type CheckGroup, type CheckResult, fail, ok, warn } from "./types.js";

/**
 * The variables OpenCode's built-in providers read their key from (its models catalogue's `env`).
 * Any one of a provider's names is enough.
 */
export const PROVIDER_ENV: Readonly<Record<string, readonly string[]>> = {
  anthropic: ["ANTHROPIC_API_KEY"],
  openai: ["OPENAI_API_KEY"],
  google: ["GOOGLE_GENERATIVE_AI_API_KEY", "GEMINI_API_KEY"],
  openrouter: ["OPENROUTER_API_KEY"],
  groq: ["GROQ_API_KEY"],
  mistral: ["MISTRAL_API_KEY"],
  deepseek: ["DEEPSEEK_API_KEY"],
  xai: ["XAI_API_KEY"],
  togetherai: ["TOGETHER_AI_API_KEY"],
  fireworks: ["FIREWORKS_API_KEY"],
  cerebras: ["CEREBRAS_API_KEY"],
  opencode: ["OPENCODE_API_KEY"],
};

/** The `{env:NAME}` references in a custom provider's entry: the variables it reads. */
export function envReferences(value: unknown): string[] {
  const names = new Set<string>();
  for (const m of JSON.stringify(value ?? {}).matchAll(/\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g)) names.add(m[1]!);
  return [...names];
}

/**
 * The model is named, its provider is configured or built in, and the variables it needs are in
 * agent.environmentFile (names only: values are never read out). With --probe-model, one tiny request
 * through the run's own sandbox and lane, timed.
 */
export const modelChecks: CheckGroup = async (ctx) => {
  const agent = ctx.config.agent;
  if (agent.args !== undefined) {
    return [ok("model", "agent.args of its own: the agent picks its model")];
  }
  const results: CheckResult[] = [settings(ctx)];
  if (ctx.probeModel) results.push(await probe(ctx));
  return results;
};

function settings(ctx: Parameters<CheckGroup>[0]): CheckResult {
  const agent = ctx.config.agent;
  const fromConfig = typeof agent.opencodeConfig.model === "string" ? agent.opencodeConfig.model : undefined;
  const model = agent.model ?? fromConfig;
  if (model === undefined) {
    return fail(
      "model",
      "agent.model is not set",
      "set agent.model to provider/model (e.g. anthropic/claude-sonnet-4-5, or a local provider in agent.opencodeConfig)",
    );
  }
  const provider = model.split("/")[0]!;
  const envProblem = ctx.secretProblems["agent.environmentFile"];
  if (envProblem !== undefined) {
    return fail(
      "model",
      `agent.environmentFile: ${envProblem}`,
      "point agent.environmentFile at a KEY=value file",
    );
  }
  const have = new Set(Object.keys(ctx.secrets.agentEnv ?? {}));
  const custom = (agent.opencodeConfig.provider as Record<string, unknown> | undefined)?.[provider];
  let needed: string[][];
  let where: string;
  if (custom !== undefined) {
    needed = envReferences(custom).map((n) => [n]);
    where = "agent.opencodeConfig.provider";
  } else if (PROVIDER_ENV[provider] !== undefined) {
    needed = [[...PROVIDER_ENV[provider]]];
    where = "built into OpenCode";
  } else {
    return warn(
      "model",
      `${model}: provider ${provider} is not in agent.opencodeConfig.provider nor one this check knows`,
      `declare ${provider} in agent.opencodeConfig.provider (npm @ai-sdk/openai-compatible and options.baseURL for a local server), or check the name with \`opencode models\``,
    );
  }
  const missing = needed.filter((any) => !any.some((n) => have.has(n))).map((any) => any.join(" or "));
  if (missing.length > 0) {
    const file = ctx.config.agent.environmentFile;
    return fail(
      "model",
      `${model} (${where}) needs ${missing.join(", ")}, ${file === undefined ? "but agent.environmentFile is not set" : "missing from agent.environmentFile"}`,
      `add ${missing.map((m) => `${m.split(" or ")[0]}=…`).join(", ")} to the file agent.environmentFile names`,
    );
  }
  const names = needed.flat().filter((n) => have.has(n));
  return ok("model", `${model} (${where})${names.length ? `; ${names.join(", ")} set` : ""}`);
}

/** One tiny request to the model by the real agent, through the same sandbox and lane as a run. */
async function probe(ctx: Parameters<CheckGroup>[0]): Promise<CheckResult> {
  if (findOnPath(ctx.config.agent.command, ctx.path) === undefined) {
    return fail("model-probe", "the agent command is missing (see agent)", "fix the agent check first");
  }
  const trial = await trialInLane(
    ctx,
    { timeoutSeconds: 180, idleTimeoutSeconds: 120 },
    "Reply with the single word OK. Do not use any tool.",
  );
  if (!trial.started)
    return fail(
      "model-probe",
      `the agent did not start: ${trial.error}`,
      "fix the sandbox and agent checks first",
    );
  const { result, ms } = trial;
  const seconds = (ms / 1000).toFixed(1);
  const tokens = result.stats.tokens.input + result.stats.tokens.output;
  if (result.exitCode === 0 && result.stats.errors.length === 0 && tokens > 0) {
    return ok(
      "model-probe",
      `the model answered through the sandbox in ${seconds} s (${tokens} tokens, cost ${result.stats.cost})`,
    );
  }
  const why =
    result.stats.errors[0] ??
    (result.ended !== "exited" ? result.ended.replace("_", " ") : firstLine(agentOutput(trial.log), 300));
  return fail(
    "model-probe",
    `no answer from the model after ${seconds} s (exit ${result.exitCode ?? result.signal}): ${why || "no output"}`,
    "check agent.model, the provider's base URL and key, and that the sandbox may reach it",
  );
}
