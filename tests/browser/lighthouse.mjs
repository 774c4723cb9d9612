// Lighthouse runs, one per line of standard input, from one Node process for the whole session.
//
// Each input line is JSON: {"url": "...", "categories": ["performance", ...]}. Each output line is
// JSON: {"url": ..., "scores": {category: score}} or {"url": ..., "error": "..."}. The settings are
// those of `lighthouse --preset=desktop`, less the audits that no score uses: the screenshots and the
// performance category's diagnostics (weight 0: its score is the weighted metrics alone, so it is
// unchanged, and a run takes about 6 s instead of 8). Each run gets a new Chromium, as the command
// line gives it: a second run in the same browser scored the home page 0.92-0.93 where a new browser
// scores it 1.00.
import readline from "node:readline";

import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import defaultConfig from "lighthouse/core/config/default-config.js";
import desktopConfig from "lighthouse/core/config/desktop-config.js";

const launchOptions = {
  chromePath: process.env.CHROME_PATH,
  chromeFlags: JSON.parse(process.env.CHROME_FLAGS ?? "[]"),
};
const settings = {
  output: "json",
  logLevel: "error",
  disableFullPageScreenshot: true,
  skipAudits: defaultConfig.categories.performance.auditRefs.filter((ref) => ref.weight === 0).map((ref) => ref.id),
};

for await (const line of readline.createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { url, categories } = JSON.parse(line);
  let answer;
  const chrome = await chromeLauncher.launch(launchOptions);
  try {
    const flags = { ...settings, port: chrome.port, onlyCategories: categories };
    const result = await lighthouse(url, flags, desktopConfig);
    const scores = Object.fromEntries(Object.entries(result.lhr.categories).map(([name, c]) => [name, c.score]));
    const error = result.lhr.runtimeError?.message;
    answer = error ? { url, error } : { url, scores };
  } catch (error) {
    answer = { url, error: String(error?.stack ?? error) };
  } finally {
    await chrome.kill();
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
