// /verify: places each outlined area (its box in percent of the page, in data-box) over the
// current file's page image. The page's CSP allows no inline styles, so they are set here.
"use strict";
document.querySelectorAll(".changed-area[data-box]").forEach(function (area) {
  var box = area.getAttribute("data-box").split(",").map(Number);
  area.style.left = box[0] + "%";
  area.style.top = box[1] + "%";
  area.style.width = box[2] + "%";
  area.style.height = box[3] + "%";
});
