// The dispatch dialog's search: typing a name or a code shows only the agencies that match
// (the ticked ones stay). A file, not an inline script: the pages' CSP allows none.
"use strict";
(function () {
  var search = document.getElementById("agency-search");
  var list = document.getElementById("agency-list");
  if (!search || !list) { return; }
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
  }
  search.addEventListener("input", function () {
    var words = fold(search.value).split(/\s+/).filter(Boolean);
    list.querySelectorAll("label.check").forEach(function (label) {
      var box = label.querySelector("input");
      var text = fold(label.textContent);
      label.hidden = !box.checked && !words.every(function (w) { return text.indexOf(w) >= 0; });
    });
  });
})();
