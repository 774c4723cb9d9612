// Typesets TeX with KaTeX for hooks/math_prerender.py: one JSON request per line on stdin,
// {"tex": "...", "display": true|false}, one JSON answer per line on stdout, {"html": "..."} or
// {"error": "..."}. KaTeX comes from node_modules (package-lock.json pins it).
const katex = require("katex");
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
