// Regions that scroll sideways (wide tables, notebook code cells) must be reachable with the
// keyboard, so that they can be scrolled without a mouse: make each one focusable.
document$.subscribe(({ body }) => {
  requestAnimationFrame(() => {
    for (const element of body.querySelectorAll(".md-typeset__scrollwrap, .jupyter-wrapper .highlight-ipynb")) {
      if (!element.hasAttribute("tabindex")) element.setAttribute("tabindex", "0");
    }
  });
});
