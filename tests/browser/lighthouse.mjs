// Lighthouse runs, one per line of standard input, from one Node process for the whole session.
//
// Each input line is JSON: {"url": "...", "preset": "desktop" | "mobile", "categories": [...]}. Each
// output line is JSON: {"url": ..., "scores": {category: score}, "metrics": {id: value}} or
// {"url": ..., "error": "..."}. The settings are those of `lighthouse --preset=desktop` or of the
// command line's default (a mid-range phone: 4x slower CPU, slow 4G, simulated), less the audits that
// no score uses: the screenshots and the performance category's diagnostics (weight 0: its score is
// the weighted metrics alone, so it is unchanged, and a run takes about 6 s instead of 8). Each run
// gets a new Chromium, as the command line gives it: a second run in the same browser scored the home
// page 0.92-0.93 where a new browser scores it 1.00.
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
  // each run has a new browser with an empty profile: nothing to clear, no blank page to pass through
  disableStorageReset: true,
  skipAboutBlank: true,
  // the page is taken as loaded after 0.5 s without network or long task, at least 0.25 s after its
  // first paint and its load event (Lighthouse waits 1 s for each): the site makes no request after
  // its search index, and a run takes about 4.5 s instead of 6
  pauseAfterFcpMs: 250,
  pauseAfterLoadMs: 250,
  networkQuietThresholdMs: 500,
  cpuQuietThresholdMs: 500,
  skipAudits: defaultConfig.categories.performance.auditRefs.filter((ref) => ref.weight === 0).map((ref) => ref.id),
};

const PRESETS = { desktop: desktopConfig, mobile: defaultConfig };
// the metrics the performance score weighs, recorded with each run (test-results/lighthouse/)
const METRICS = [
  "first-contentful-paint",
  "largest-contentful-paint",
  "total-blocking-time",
  "cumulative-layout-shift",
  "speed-index",
];

for await (const line of readline.createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { url, preset, categories } = JSON.parse(line);
  if (!Object.hasOwn(PRESETS, preset)) {
    process.stdout.write(JSON.stringify({ url, error: `unknown preset ${preset}: desktop or mobile` }) + "\n");
    continue;
  }
  let answer;
  const chrome = await chromeLauncher.launch(launchOptions);
  try {
    const flags = { ...settings, port: chrome.port, onlyCategories: categories };
    const result = await lighthouse(url, flags, PRESETS[preset]);
    const scores = Object.fromEntries(Object.entries(result.lhr.categories).map(([name, c]) => [name, c.score]));
    const metrics = Object.fromEntries(
      METRICS.filter((id) => id in result.lhr.audits).map((id) => [id, result.lhr.audits[id].numericValue]),
    );
    const error = result.lhr.runtimeError?.message;
    answer = error ? { url, error } : { url, scores, metrics };
  } catch (error) {
    answer = { url, error: String(error?.stack ?? error) };
  } finally {
    await chrome.kill();
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
