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

// Activity forms that log what happened (data-done-from-due): "done" follows the due time
// (ticked when there is none or it has passed, unticked while it is in the future) until the
// user changes the box themselves.
(function () {
  function sync(form) {
    var due = form.querySelector("input[name=due_at]");
    var done = form.querySelector("input[name=done]");
    if (!due || !done || done.dataset.touched) { return; }
    var when = due.value ? new Date(due.value) : null;
    done.checked = !(when && !isNaN(when.getTime()) && when.getTime() > Date.now());
  }
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (!(el instanceof Element)) { return; }
    var form = el.closest("form[data-done-from-due]");
    if (!form) { return; }
    if (el.matches("input[name=done]")) { el.dataset.touched = "1"; }
    if (el.matches("input[name=due_at]")) { sync(form); }
  });
  document.addEventListener("input", function (evt) {
    var el = evt.target;
    if (el instanceof Element && el.matches("form[data-done-from-due] input[name=due_at]")) { sync(el.closest("form")); }
  });
})();
