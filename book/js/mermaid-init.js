// Draws every ```mermaid block of the page as a picture.
//
// mdbook renders such a block as <pre><code class="language-mermaid">. On a page
// that has one, this loads mermaid (js/mermaid.min.js, copied from the pinned npm
// package by scripts/check-book.sh; 5 MB, so pages without a picture never load
// it), replaces each block with <pre class="mermaid"> holding the same text, and
// asks mermaid to draw them. The outcome is left on
// <html data-diagrams="done|failed"> so the browser check
// (book/tools/check-browser.mjs) knows when to look; a failure is also a console
// error, which that check refuses.
//
// Simplification: the colours follow the theme the page opened with; switching
// theme later keeps the pictures as they were drawn.
(function drawDiagrams() {
  "use strict";
  const root = document.documentElement;
  const blocks = Array.from(document.querySelectorAll("code.language-mermaid"));
  const fail = (why) => {
    root.dataset.diagrams = "failed";
    console.error("mermaid:", why);
  };
  if (blocks.length === 0) {
    root.dataset.diagrams = "done";
    return;
  }
  const draw = () => {
    const dark = ["coal", "navy", "ayu"].some((t) => root.classList.contains(t));
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: dark ? "dark" : "default" });
    const nodes = blocks.map((code) => {
      const pre = document.createElement("pre");
      pre.className = "mermaid";
      pre.textContent = code.textContent;
      code.parentElement.replaceWith(pre);
      return pre;
    });
    mermaid.run({ nodes }).then(() => {
      root.dataset.diagrams = "done";
    }, (err) => fail(`a diagram failed to draw: ${err?.message ?? err?.str ?? err}`));
  };
  const script = document.createElement("script");
  script.src = `${path_to_root}js/mermaid.min.js`; // path_to_root: set by mdbook's page
  script.onload = draw;
  script.onerror = () => fail(`could not load ${script.src}`);
  document.head.appendChild(script);
})();
