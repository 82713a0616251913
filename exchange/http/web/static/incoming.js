// /incoming keeps itself up to date: it long-polls the inbox (GET /api/v1/inbox, the session's
// cookie) and, when something arrives, redraws the table's rows from the server (same filters).
// A file, not an inline script: the pages' CSP allows none. Plain JS, no library.
"use strict";
(function () {
  var rows = document.getElementById("incoming-rows");
  if (!rows || !window.fetch) { return; }
  var after = rows.dataset.lastSeq || "0";
  var status = document.getElementById("arrivals");
  var WAIT = 25, RETRY_MS = 10000;

  function redraw() {
    return fetch(rows.dataset.refresh, {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error("refresh " + r.status); }
      return r.text();
    }).then(function (html) {
      rows.innerHTML = html;
      if (status) { status.textContent = rows.dataset.arrived; }
    });
  }

  function poll() {
    var url = "/api/v1/inbox?limit=1&wait=" + WAIT + "&after=" + encodeURIComponent(after);
    fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}}).then(function (r) {
      if (!r.ok) { throw new Error("inbox " + r.status); }
      return r.json();
    }).then(function (page) {
      var arrived = page.items.length > 0;
      after = page.next_cursor;
      return arrived ? redraw() : null;
    }).then(poll, function () { window.setTimeout(poll, RETRY_MS); });
  }
  poll();
})();
