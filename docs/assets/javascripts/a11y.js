// Regions that scroll sideways (wide tables, notebook code cells, long formulas) must be reachable
// with the keyboard, so that they can be scrolled without a mouse: make each one that overflows
// focusable. Runs after math.js has rendered the formulas (it subscribes first). Display formulas
// far from the screen are not laid out (content-visibility in extra.css), so they cannot overflow
// yet: each is checked again when the browser first lays it out.
const makeFocusableIfOverflowing = (element) => {
  if (element.scrollWidth > element.clientWidth && !element.hasAttribute("tabindex")) {
    element.setAttribute("tabindex", "0");
  }
};

document$.subscribe(({ body }) => {
  requestAnimationFrame(() => {
    const scrolling = body.querySelectorAll(
      ".md-typeset__scrollwrap, .jupyter-wrapper .highlight-ipynb, .md-typeset .katex-display",
    );
    for (const element of scrolling) {
      makeFocusableIfOverflowing(element);
      element.addEventListener("contentvisibilityautostatechange", (event) => {
        if (!event.skipped) makeFocusableIfOverflowing(element);
      });
    }
  });
});
