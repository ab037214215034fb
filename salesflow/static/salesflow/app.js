// Progressive enhancement shared by every page: searchable selects and htmx re-initialisation.
(function () {
  function enhance(root) {
    root.querySelectorAll("select[data-searchable]:not(.tomselected)").forEach(function (el) {
      new TomSelect(el, { allowEmptyOption: true, maxOptions: 200 });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.body.addEventListener("htmx:afterSwap", function (evt) { enhance(evt.target); });
})();
