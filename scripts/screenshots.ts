import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../src/db/database.js";
import { migrateToLatest } from "../src/db/migrate.js";
import { TOKEN } from "../test/support/app.js";
import { findChromium, launchChromium } from "../test/support/chromium.js";
import { startWebWorld } from "../test/support/web-serve.js";

/*
 * `npm run screenshots`: seeds the demo (an incident with a PR, one waiting for the deploy, one
 * suppressed, one that needs you, a run transcript with a refusal) into an embedded PGlite database,
 * serves the page on 127.0.0.1 and writes phone and desktop PNGs, light and dark, into docs/.
 */

const out = join(import.meta.dirname, "..", "docs");
const executable = findChromium();
if (!executable) {
  console.error("no chromium on PATH: apt-get install chromium");
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "healer-screens-"));
const url = `pglite://${join(dir, "db")}`;
const db = openDatabase(url);
await migrateToLatest(db as never);
const world = await startWebWorld(db, url, {}, { hostile: false });
const chromium = await launchChromium(executable);
try {
  mkdirSync(out, { recursive: true });
  const shots = [
    { file: "web-home-desktop-light.png", path: "/", phone: false, dark: false },
    { file: "web-incident-phone-dark.png", path: `/incidents/${world.demo.withPr}`, phone: true, dark: true },
    { file: "web-home-phone-light.png", path: "/", phone: true, dark: false },
    { file: "web-run-desktop-dark.png", path: `/runs/${world.demo.run}`, phone: false, dark: true },
  ];
  for (const s of shots) {
    const context = await chromium.browser.newContext({
      viewport: s.phone ? { width: 390, height: 844 } : { width: 1280, height: 900 },
      deviceScaleFactor: s.phone ? 2 : 1,
      colorScheme: s.dark ? "dark" : "light",
      timezoneId: "Europe/Berlin",
      locale: "en-GB",
    });
    const page = await context.newPage();
    await page.goto(`${world.url}/`);
    await page.fill("input[name=token]", TOKEN);
    await page.click("button[type=submit]");
    await page.goto(`${world.url}${s.path}`);
    await page.screenshot({ path: join(out, s.file), fullPage: !s.phone });
    console.log(`docs/${s.file}`);
    await context.close();
  }
} finally {
  await chromium.close();
  await world.close();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
}
