// The floor of any single-threaded Node.js HTTP service on this machine: node:http, keep-alive, the
// body read whole, a 202 with a JSON answer the size of ours. No framework, no parse, no store.
// `npm run bench` drives it like the others; ours can only approach its rate, never pass it.
import http from "node:http";

const answer = JSON.stringify({ accepted: 0, duplicates: 1, incidents: [], delivery: 1, repeat: true });
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    res.writeHead(202, { "content-type": "application/json", "content-length": Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
