// Visit check-in (issue 7): ask the browser for the position (navigator.geolocation) and
// put it into the hidden lat/lng fields; without it, the typed address is sent. A static
// file (no inline script, for the Content-Security-Policy).
(function () {
  var form = document.querySelector("form[data-check-in]");
  if (!form) { return; }
  var status = form.querySelector("[data-check-in-status]");
  var lat = form.querySelector("input[name=lat]");
  var lng = form.querySelector("input[name=lng]");
  var t = window.gettext || function (s) { return s; };
  if (!navigator.geolocation) {
    if (status) { status.textContent = t("This browser cannot tell your position: type the address."); }
    return;
  }
  navigator.geolocation.getCurrentPosition(function (pos) {
    lat.value = pos.coords.latitude.toFixed(6);
    lng.value = pos.coords.longitude.toFixed(6);
    if (status) { status.textContent = t("Position found:") + " " + lat.value + ", " + lng.value; }
  }, function () {
    if (status) { status.textContent = t("The position is not available: type the address."); }
  }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
})();
