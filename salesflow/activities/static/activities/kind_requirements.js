// Activity forms (issue 7): the outcome and the next follow-up date are marked required
// when the chosen type needs them once done (data-kind-requirements, from the activity
// type settings) and "done" is ticked. The service enforces the same rule.
(function () {
  function sync(form) {
    var raw = form.getAttribute("data-kind-requirements");
    var kind = form.querySelector("[name=kind]");
    var done = form.querySelector("input[name=done]");
    if (!raw || !kind) { return; }
    var rules = {};
    try { rules = JSON.parse(raw); } catch (e) { return; }
    var need = rules[kind.value] || {};
    var isDone = !done || done.checked;
    ["outcome", "next_follow_up"].forEach(function (name) {
      var input = form.querySelector("[name=" + name + "]");
      if (!input) { return; }
      var on = Boolean(need[name]) && isDone;
      input.required = on;
      var label = form.querySelector("label[for=" + input.id + "]");
      if (label) { label.classList.toggle("required", on); }
    });
  }
  function all() { document.querySelectorAll("form[data-kind-requirements]").forEach(sync); }
  if (window.__sfKindRequirements) { all(); return; }
  window.__sfKindRequirements = true;
  document.addEventListener("change", function (e) {
    var form = e.target instanceof Element ? e.target.closest("form[data-kind-requirements]") : null;
    if (form) { sync(form); }
  });
  document.addEventListener("htmx:afterSwap", all);
  all();
})();
