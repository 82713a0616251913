// The official's stamp where it will go: a click on a page preview places it there (the
// sign form then carries the page and the point, in PDF points from the page's lower-left
// corner); without a click the stamp goes to the letter's signing space, as the API does.
// A file, not an inline script: the pages' CSP allows none. Plain JS, no library.
"use strict";
(function () {
  var form = document.getElementById("sign-form");
  var pages = document.querySelector(".pages[data-placeable]");
  if (!form || !pages) { return; }
  var dpi = parseFloat(pages.dataset.dpi), stampW = parseFloat(pages.dataset.stampW),
      stampH = parseFloat(pages.dataset.stampH);
  var said = document.getElementById("stamp-place");
  var marker = document.createElement("div");
  marker.className = "stamp-marker";
  marker.hidden = true;

  pages.addEventListener("click", function (event) {
    var img = event.target;
    if (!img.matches || !img.matches("img[data-page]") || !img.naturalWidth) { return; }
    var box = img.getBoundingClientRect();
    var pxPerPt = dpi / 72 * (box.width / img.naturalWidth);  // screen px per PDF point
    var xPt = (event.clientX - box.left) / pxPerPt;
    var yPt = (box.height - (event.clientY - box.top)) / pxPerPt;
    form.elements.stamp_page.value = img.dataset.page;
    form.elements.stamp_x.value = xPt.toFixed(1);
    form.elements.stamp_y.value = yPt.toFixed(1);
    img.parentNode.appendChild(marker);
    marker.style.width = (stampW * pxPerPt) + "px";
    marker.style.height = (stampH * pxPerPt) + "px";
    marker.style.left = (event.clientX - box.left - stampW * pxPerPt / 2) + "px";
    marker.style.top = (event.clientY - box.top - stampH * pxPerPt / 2) + "px";
    marker.hidden = false;
    if (said) { said.textContent = said.dataset.template.replace("%(page)s", img.dataset.page); }
  });
})();
