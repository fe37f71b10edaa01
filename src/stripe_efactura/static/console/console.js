// stripe-efactura console: our own few lines of JavaScript (the console works without it).
// 1. On narrow screens the navigation folds behind a "Menu" button.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var toggle = document.getElementById("nav-toggle");
  var nav = document.getElementById("nav-main");
  if (toggle && nav) {
    nav.setAttribute("data-collapsed", "true");
    toggle.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", function () {
      var open = nav.getAttribute("data-collapsed") === "true";
      nav.setAttribute("data-collapsed", open ? "false" : "true");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
})();
