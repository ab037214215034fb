// Progressive enhancement shared by every page: searchable selects and htmx re-initialisation.
(function () {
  function enhance(root) {
    root.querySelectorAll("select[data-searchable]:not(.tomselected)").forEach(function (el) {
      new TomSelect(el, { allowEmptyOption: true, maxOptions: 200 });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  // <select data-autosubmit> submits its form on change (instead of inline onchange handlers,
  // which the Content-Security-Policy forbids). A plain submit, as the handlers did.
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (el instanceof Element && el.matches("[data-autosubmit]") && el.form) { el.form.submit(); }
  });
  document.body.addEventListener("htmx:afterSwap", function (evt) { enhance(evt.target); });
})();
