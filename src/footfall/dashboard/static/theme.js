// Loaded before first paint (not deferred) so a chosen theme never flashes the other one.
(function () {
  if (document.documentElement.hasAttribute("data-theme-fixed")) return;  // an embed's ?theme=
  var t = null;
  try { t = localStorage.getItem("footfall-theme"); } catch (e) { /* private mode */ }
  if (t === "dark" || t === "light") document.documentElement.setAttribute("data-theme", t);
})();
