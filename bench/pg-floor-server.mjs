// The floor of a PostgreSQL-backed ingest on this machine: node:http, keep-alive, the body read
// whole, and then the least that makes a 202 honest — the body committed in PostgreSQL. Requests
// that arrive while a batch commits go together in the next (a group commit, one statement and one
// WAL flush a batch, as ours). One table, one index (its key); no parse, no alerts, no incidents.
// `npm run bench` drives it like the others for distinct and batched alerts: what ours does on top
// of this (the SPEC's tables, grouping, triage) can only cost more.
import http from "node:http";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
await pool.query(
  "CREATE TABLE IF NOT EXISTS floor_deliveries (id bigserial PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(), body text NOT NULL)",
);
const INSERT = "INSERT INTO floor_deliveries (body) SELECT unnest($1::text[]) RETURNING id";

let queue = [];
let busy = false;
async function pump() {
  if (busy || queue.length === 0) return;
  busy = true;
  const batch = queue;
  queue = [];
  try {
    const r = await pool.query({ name: "floor_insert", text: INSERT, values: [batch.map((b) => b.body)] });
    batch.forEach((b, i) => {
      b.done(202, { accepted: 1, delivery: Number(r.rows[i].id) });
    });
  } catch (e) {
    for (const b of batch) b.done(503, { error: String(e) });
  }
  busy = false;
  void pump();
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    queue.push({
      body: Buffer.concat(chunks).toString("utf8"),
      done: (status, answer) => {
        const text = JSON.stringify(answer);
        res.writeHead(status, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(text),
        });
        res.end(text);
      },
    });
    void pump();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on("SIGTERM", () => server.close(() => pool.end().then(() => process.exit(0))));
