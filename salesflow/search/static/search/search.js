// Global search in the header: "/" focuses the box (unless the user is typing in a field),
// htmx fills the dropdown while typing (debounced in the markup), arrows move through the
// results, Escape or a click elsewhere closes it. No inline script: wired by data-global-search.
(function () {
  function form() { return document.querySelector("[data-global-search]"); }
  function box() { var f = form(); return f ? f.querySelector("input[name=q]") : null; }
  function menu() { return document.getElementById("global-search-menu"); }
  function typing(el) {
    return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function open(show) {
    var m = menu();
    if (m) { m.classList.toggle("show", show && m.textContent.trim() !== ""); }
  }
  function links() { var m = menu(); return m ? Array.prototype.slice.call(m.querySelectorAll("a")) : []; }

  document.addEventListener("keydown", function (evt) {
    var input = box();
    if (!input) { return; }
    if (evt.key === "/" && !evt.ctrlKey && !evt.metaKey && !evt.altKey && !typing(document.activeElement)) {
      evt.preventDefault();
      input.focus();
      input.select();
      open(true);
      return;
    }
    var inForm = form().contains(document.activeElement);
    if (!inForm) { return; }
    if (evt.key === "Escape") {
      open(false);
      input.focus();
    } else if (evt.key === "ArrowDown" || evt.key === "ArrowUp") {
      var items = links();
      if (!items.length) { return; }
      evt.preventDefault();
      var at = items.indexOf(document.activeElement);
      var next = evt.key === "ArrowDown" ? at + 1 : at - 1;
      if (next < 0) { input.focus(); return; }
      open(true);
      items[Math.min(next, items.length - 1)].focus();
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.target && evt.target.id === "global-search-menu") { open(box() === document.activeElement); }
  });
  document.addEventListener("focusin", function (evt) {
    if (evt.target === box()) { open(true); }
  });
  document.addEventListener("click", function (evt) {
    if (!(evt.target instanceof Element) || !evt.target.closest("[data-global-search]")) { open(false); }
  });
})();
