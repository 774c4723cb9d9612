// Lighthouse runs, one per line of standard input, in one Chromium for the whole session.
//
// Each input line is JSON: {"url": "...", "categories": ["performance", ...]}. Each output line is
// JSON: {"url": ..., "scores": {category: score}} or {"url": ..., "error": "..."}. The settings are
// those of `lighthouse --preset=desktop`; the screenshots (which no score uses) are not taken.
// Lighthouse resets the page's cache and storage before each run, so a run is a cold load whether
// or not the browser is new; launching it once saves about a second a run.
import readline from "node:readline";

import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";

const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROME_PATH,
  chromeFlags: JSON.parse(process.env.CHROME_FLAGS ?? "[]"),
});
const settings = {
  port: chrome.port,
  output: "json",
  logLevel: "error",
  disableFullPageScreenshot: true,
  skipAudits: ["screenshot-thumbnails", "final-screenshot"],
};

try {
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const { url, categories } = JSON.parse(line);
    let answer;
    try {
      const result = await lighthouse(url, { ...settings, onlyCategories: categories }, desktopConfig);
      const scores = Object.fromEntries(Object.entries(result.lhr.categories).map(([name, c]) => [name, c.score]));
      const errors = result.lhr.runtimeError ? [result.lhr.runtimeError.message] : [];
      answer = errors.length ? { url, error: errors.join("; ") } : { url, scores };
    } catch (error) {
      answer = { url, error: String(error?.stack ?? error) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  }
} finally {
  await chrome.kill();
}
