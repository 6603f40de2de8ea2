// The event log's live toggle: while on, each batch the realtime stream announces reloads the
// first page's rows (the server renders them, with the page's filters). Without JavaScript the
// toggle stays hidden and the page is a plain list.
(function () {
  "use strict";
  var source = null;
  var pending = null;

  function refresh(label) {
    pending = null;
    fetch(label.dataset.rows, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var rows = document.getElementById("event-rows");
        if (!html || !rows) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("event-rows");
        if (fresh) rows.replaceWith(document.importNode(fresh, true));
        label.dataset.refreshed = String(Number(label.dataset.refreshed || "0") + 1);
      });
  }

  function init() {
    var label = document.querySelector(".live-toggle");
    if (!label || !window.EventSource) return;
    label.hidden = false;
    var box = label.querySelector("input");
    box.addEventListener("change", function () {
      if (source) { source.close(); source = null; }
      label.dataset.live = "";
      if (!box.checked) return;
      source = new EventSource(label.dataset.stream);
      source.addEventListener("visitors", function () { label.dataset.live = "1"; });
      source.addEventListener("events", function () {
        if (!pending) pending = setTimeout(function () { refresh(label); }, 500);
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
