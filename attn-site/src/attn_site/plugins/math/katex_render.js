// Typesets TeX with KaTeX for the attn/math plugin (plugin.py beside this file): one JSON request per
// line on stdin, {"tex": "...", "display": true|false}, one JSON answer per line on stdout,
// {"html": "..."} or {"error": "..."}. KaTeX is the folder given as the first argument (the plugin's
// katex_dir, node_modules/katex, which package-lock.json pins).
const katex = require(process.argv[2] || "katex");
const readline = require("readline");

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const { tex, display } = JSON.parse(line);
  let answer;
  try {
    answer = { html: katex.renderToString(tex, { displayMode: display, throwOnError: true }) };
  } catch (error) {
    answer = { error: String(error.message || error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
