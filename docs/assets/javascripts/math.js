// Render math with the KaTeX copy the site serves itself (hooks/offline_assets.py).
// A formula KaTeX cannot parse is reported on the console, which the browser tests watch.
document$.subscribe(({ body }) => {
  // Markdown pages: pymdownx.arithmatex (generic mode) wraps each formula in .arithmatex.
  for (const element of body.querySelectorAll(".arithmatex")) {
    renderMathInElement(element, {
      delimiters: [
        { left: "\\[", right: "\\]", display: true },
        { left: "\\(", right: "\\)", display: false },
      ],
    });
  }
  // Lab notebooks: markdown cells keep the notebook's own $…$ and $$…$$.
  for (const element of body.querySelectorAll(".jupyter-wrapper .jp-MarkdownCell")) {
    renderMathInElement(element, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "$", right: "$", display: false },
      ],
    });
  }
});
