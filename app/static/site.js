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
// A form marked data-role-fields shows only the fields its chosen role needs: an element with
// data-for-role="hospital" (or a comma-separated list of roles) is hidden for other roles.
(function () {
  "use strict";
  function apply(form) {
    var role = form.querySelector("select[name=role]");
    if (!role) { return; }
    form.querySelectorAll("[data-for-role]").forEach(function (el) {
      el.hidden = el.getAttribute("data-for-role").split(",").indexOf(role.value) < 0;
    });
  }
  document.querySelectorAll("form[data-role-fields]").forEach(apply);
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.name === "role" && el.form && el.form.hasAttribute("data-role-fields")) { apply(el.form); }
  });
})();
