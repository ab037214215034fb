// Activity form: the link fields (deal, account, contact, lead) search the records the user
// may see as they type. A static file (no inline script, for the Content-Security-Policy);
// the search URL comes from the form's data-link-search-url, the kind from each select's
// data-record-search.
(function () {
  var form = document.querySelector("[data-activity-form]");
  if (!form || !window.TomSelect) { return; }
  var url = form.getAttribute("data-link-search-url");
  form.querySelectorAll("select[data-record-search]").forEach(function (select) {
    var kind = select.getAttribute("data-record-search");
    new TomSelect(select, {
      valueField: "value", labelField: "text", searchField: ["text"], maxOptions: 10, loadThrottle: 250,
      allowEmptyOption: true, preload: "focus",
      shouldLoad: function () { return true; },
      load: function (query, callback) {
        var self = this;
        fetch(url + "?kind=" + encodeURIComponent(kind) + "&q=" + encodeURIComponent(query), {
          headers: { "Accept": "application/json" }, credentials: "same-origin"
        })
          .then(function (r) { return r.json(); })
          .then(function (data) { self.clearOptions(); callback(data.results); })
          .catch(function () { callback(); });
      }
    });
  });
})();
