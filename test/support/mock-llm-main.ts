import { writeFileSync } from "node:fs";
import { type MockTurn, mockProviderConfig, startMockLlm } from "./mock-llm.js";

// The scripted model as a program of its own, for a test that runs OpenCode in a network namespace
// of its own (bwrap --unshare-net): the model must listen on that namespace's loopback.
//   node --import tsx test/support/mock-llm-main.ts TURNS_JSON OPENCODE_CONFIG
// writes OPENCODE_CONFIG (the mock provider, edit and bash allowed) once listening; SIGTERM ends it.
const [turns, configFile] = process.argv.slice(2);
const mock = await startMockLlm(JSON.parse(turns!) as MockTurn[]);
writeFileSync(
  configFile!,
  JSON.stringify({ ...mockProviderConfig(mock.baseUrl), permission: { edit: "allow", bash: "allow" } }),
);
process.once("SIGTERM", () => void mock.close().then(() => process.exit(0)));
