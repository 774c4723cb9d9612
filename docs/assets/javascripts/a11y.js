// Regions that scroll sideways (code blocks, wide tables, notebook code cells, long formulas) must be
// reachable with the keyboard, so that they can be scrolled without a mouse.
//
// Code blocks: Material makes one focusable if it overflows, but only when it mounts the block, as
// the block nears the screen (content.lazy); Tab would skip the blocks further down. Every code block
// starts focusable here (which needs no layout), and Material takes the focus away from those that
// do not overflow when it mounts them.
//
// Tables, notebook cells and display formulas: each one that overflows is made focusable. Blocks far
// from the screen are not laid out (content-visibility in extra.css), so they cannot overflow yet:
// each is checked again when the browser first lays it out. Runs after math.js has typeset the
// notebooks' formulas (it subscribes first).
const makeFocusableIfOverflowing = (element) => {
  if (element.scrollWidth > element.clientWidth && !element.hasAttribute("tabindex")) {
    element.setAttribute("tabindex", "0");
  }
};

document$.subscribe(({ body }) => {
  for (const code of body.querySelectorAll(".md-typeset pre > code")) {
    if (!code.hasAttribute("tabindex")) code.setAttribute("tabindex", "0");
  }
  requestAnimationFrame(() => {
    const scrolling = body.querySelectorAll(
      ".md-typeset__scrollwrap, .jupyter-wrapper .highlight-ipynb, .md-typeset .katex-display",
    );
    for (const element of scrolling) {
      // measuring a region the browser skipped would lay it out now: leave it to the event below
      if (element.checkVisibility?.({ contentVisibilityAuto: true }) ?? true) makeFocusableIfOverflowing(element);
      const box = element.closest(".md-typeset .katex-display, .md-content__inner > *") ?? element;
      box.addEventListener("contentvisibilityautostatechange", (event) => {
        if (!event.skipped) makeFocusableIfOverflowing(element);
      });
    }
  });
});
