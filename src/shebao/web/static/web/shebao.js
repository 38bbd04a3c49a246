/* Behaviour every page may use, kept in a file: the Content-Security-Policy allows no inline
   scripts or event handlers. A button with data-print prints the page. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && target.closest && target.closest("[data-print]")) {
      window.print();
    }
  });
})();
