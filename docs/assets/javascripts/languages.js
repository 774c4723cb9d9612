// The language selector links each page to the same page in another language. Headings have the
// same ids in every language, so the reader stays on the section they are reading: as a language
// is chosen, its link takes the anchor of the current URL.
document$.subscribe(() => {
  for (const link of document.querySelectorAll(".md-select__link[hreflang]")) {
    link.addEventListener("click", () => {
      const url = new URL(link.href);
      url.hash = window.location.hash;
      link.href = url.href;
    });
  }
});
