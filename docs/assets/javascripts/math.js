// Render the math of the lab notebooks with the KaTeX copy the site serves itself
// (attn/offline); overrides/main.html loads KaTeX and this script on notebook pages only.
// Markdown pages need neither: attn/math typesets their formulas at build time.
// A formula KaTeX cannot parse is reported on the console, which the browser tests watch.
document$.subscribe(({ body }) => {
  // Markdown cells keep the notebook's own $…$ and $$…$$.
  for (const element of body.querySelectorAll(".jupyter-wrapper .jp-MarkdownCell")) {
    renderMathInElement(element, {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "$", right: "$", display: false },
      ],
    });
  }
});
