#!/usr/bin/env node
// The benchmark's agent: stamps the moment it starts (the run log keeps it) and changes nothing.
console.log(JSON.stringify({ type: "bench-agent-start", at: Date.now() }));
