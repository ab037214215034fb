// Lead conversion form: show the account search or the "new account" note, and search
// accounts as the user types. A static file (not an inline script) so the page runs under
// the Content-Security-Policy without 'unsafe-inline'; the URL comes from a data attribute.
(function () {
  var form = document.querySelector("[data-convert-form]");
  if (!form) { return; }
  var existing = document.getElementById("convert-existing-account");
  var fresh = document.getElementById("convert-new-account");
  function sync() {
    var mode = form.querySelector("input[name=account_mode]:checked");
    var linking = mode && mode.value === "existing";
    existing.hidden = !linking;
    fresh.hidden = linking;
  }
  form.querySelectorAll("input[name=account_mode]").forEach(function (el) { el.addEventListener("change", sync); });
  sync();
  var select = form.querySelector("select[data-account-search]");
  var url = form.getAttribute("data-account-search-url");
  if (select && url && window.TomSelect) {
    new TomSelect(select, {
      valueField: "value", labelField: "text", searchField: ["text"], maxOptions: 50, loadThrottle: 300,
      load: function (query, callback) {
        fetch(url + "?q=" + encodeURIComponent(query), { headers: { "Accept": "application/json" } })
          .then(function (r) { return r.json(); })
          .then(function (data) { callback(data.results); })
          .catch(function () { callback(); });
      }
    });
  }
})();
