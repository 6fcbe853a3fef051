// A form whose work takes a while (generating a bulletin): on submit, disable the button and
// show an indeterminate progress bar with what is happening, until the next page arrives.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-busy]");
  Array.prototype.forEach.call(forms, function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      var bar = form.querySelector("progress");
      var status = form.querySelector(".busy");
      if (button) { button.disabled = true; }
      if (bar) { bar.hidden = false; }
      if (status) { status.textContent = form.getAttribute("data-busy"); }
    });
  });
})();
