// Visit check-in (issue 7): ask the browser for the position (navigator.geolocation) and
// put it into the hidden lat/lng fields; without it, the typed address is sent. A static
// file (no inline script, for the Content-Security-Policy).
(function () {
  var form = document.querySelector("form[data-check-in]");
  if (!form) { return; }
  var status = form.querySelector("[data-check-in-status]");
  var lat = form.querySelector("input[name=lat]");
  var lng = form.querySelector("input[name=lng]");
  // messages come translated from the page (data-msg-*)
  function say(name, extra) {
    if (status) { status.textContent = (form.getAttribute("data-msg-" + name) || "") + (extra || ""); }
  }
  if (!navigator.geolocation) { say("unsupported"); return; }
  navigator.geolocation.getCurrentPosition(function (pos) {
    lat.value = pos.coords.latitude.toFixed(6);
    lng.value = pos.coords.longitude.toFixed(6);
    say("found", " " + lat.value + ", " + lng.value);
  }, function () {
    say("unavailable");
  }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
})();
