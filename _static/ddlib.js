/* The book's own script (listed in _config.yml, sphinx.config.html_js_files).

   Display equations on a narrow screen: an equation wider than its column (a phone) is set in a smaller size until
   it fits, down to 60 % of the text size; the long ones are split into lines in the source, so that none needs
   more. Runs once MathJax has typeset the page and again whenever the window changes size. */
(function () {
  "use strict";
  var MIN_SCALE = 0.6;

  function fitEquations() {
    document.querySelectorAll('mjx-container[display="true"]').forEach(function (eq) {
      // MathJax's box sits beside the floating equation number, so its own width is the room the formula has
      eq.style.fontSize = "";
      var scale = 1;
      for (var i = 0; i < 4 && eq.scrollWidth > eq.clientWidth + 1 && scale > MIN_SCALE; i++) {
        scale = Math.max(MIN_SCALE, scale * (eq.clientWidth - 1) / eq.scrollWidth);
        eq.style.fontSize = scale * 100 + "%";
      }
    });
  }

  function whenTypeset(run) {
    var tries = 0;
    (function wait() {
      if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
        MathJax.startup.promise.then(run);
      } else if (tries++ < 100) {
        setTimeout(wait, 100);
      }
    })();
  }

  window.addEventListener("load", function () { whenTypeset(fitEquations); });
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(fitEquations, 50);
  });
  window.ddlibFitEquations = fitEquations;  // the browser test calls it after changing the viewport
})();
