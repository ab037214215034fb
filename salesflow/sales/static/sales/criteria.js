// Entry-criteria settings (sales/partials/stage_criteria.html): show only the settings of
// the chosen criterion type. Delegated on the document, so forms swapped in by htmx (and
// the fragment embedded in the pipeline settings page) work without re-binding.
(function () {
  "use strict";
  if (window.sfCriteriaForms) { return; }
  window.sfCriteriaForms = true;

  function sync(form) {
    var select = form.querySelector("select[name$='kind']");
    if (!select) { return; }
    form.querySelectorAll("[data-params-for]").forEach(function (set) {
      set.hidden = set.dataset.paramsFor !== select.value;
    });
  }

  function syncAll(root) {
    (root || document).querySelectorAll(".sf-criterion-form").forEach(sync);
  }

  document.addEventListener("change", function (evt) {
    var form = evt.target.closest(".sf-criterion-form");
    if (form && evt.target.name && /kind$/.test(evt.target.name)) { sync(form); }
  });
  document.addEventListener("htmx:afterSwap", function () { syncAll(); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { syncAll(); });
  } else {
    syncAll();
  }
})();
