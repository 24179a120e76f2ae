import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { type Browser, chromium } from "playwright-core";

/** Debian's chromium on PATH (what `command -v chromium` finds), or undefined. */
export function findChromium(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, "chromium");
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Starts headless Chromium with nothing that phones home, on a profile of its own (Playwright gives
 * launch() a fresh temporary user-data dir and removes it on close; the temp dir here holds its
 * downloads). `close()` ends the browser process.
 */
export async function launchChromium(
  executablePath: string,
): Promise<{ browser: Browser; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "healer-chromium-"));
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    downloadsPath: dir,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
