// Regions that scroll sideways (wide tables, notebook code cells, long formulas) must be reachable
// with the keyboard, so that they can be scrolled without a mouse: make each one that overflows
// focusable. Runs after math.js has rendered the formulas (it subscribes first).
document$.subscribe(({ body }) => {
  requestAnimationFrame(() => {
    const scrolling = body.querySelectorAll(
      ".md-typeset__scrollwrap, .jupyter-wrapper .highlight-ipynb, .md-typeset .katex-display",
    );
    for (const element of scrolling) {
      if (element.scrollWidth > element.clientWidth && !element.hasAttribute("tabindex")) {
        element.setAttribute("tabindex", "0");
      }
    }
  });
});
