// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can forbid
// inline scripts: a <select data-autosubmit> submits its form when changed; a <select
// data-goto="/path/PERIOD"> opens that path with the chosen value in place of PERIOD.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (!el || el.tagName !== "SELECT") { return; }
    if (el.hasAttribute("data-autosubmit") && el.form) {
      el.form.submit();
    } else if (el.hasAttribute("data-goto")) {
      location.href = el.getAttribute("data-goto").replace("PERIOD", encodeURIComponent(el.value));
    }
  });
})();
