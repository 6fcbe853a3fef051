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

// <input data-suggest="/hospitals/search"> in a form: as one types, up to 20 hospitals in the
// user's scope appear below it as links (the form's fields, e.g. its period, go along, with
// format=json). data-suggest-href="/returns/?hospital=CODE" links each hit there instead.
(function () {
  "use strict";
  var timer = null;
  var asked = 0;

  function listFor(input) {
    var list = input.parentNode.querySelector("ul.suggest");
    if (!list) {
      list = document.createElement("ul");
      list.className = "suggest";
      list.setAttribute("role", "listbox");
      input.parentNode.appendChild(list);
    }
    return list;
  }

  function show(input, hits) {
    var list = listFor(input);
    var href = input.getAttribute("data-suggest-href");
    list.textContent = "";
    hits.forEach(function (h) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = href ? href.replace("CODE", encodeURIComponent(h.code)) : h.url;
      a.textContent = h.name;
      var small = document.createElement("small");
      small.textContent = " " + h.code + " " + h.prefecture;
      a.appendChild(small);
      li.appendChild(a);
      list.appendChild(li);
    });
    if (!hits.length && input.value.trim()) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = "没有相符的医院";
      list.appendChild(none);
    }
    list.hidden = !input.value.trim();
  }

  function ask(input) {
    var params = new URLSearchParams(new FormData(input.form));
    params.set("q", input.value);
    params.set("format", "json");
    var mine = ++asked;
    fetch(input.getAttribute("data-suggest") + "?" + params.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (hits) { if (mine === asked) { show(input, hits); } })
      .catch(function () { /* suggestions are a convenience: the form still submits */ });
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input || !input.hasAttribute || !input.hasAttribute("data-suggest")) { return; }
    clearTimeout(timer);
    if (!input.value.trim()) { listFor(input).hidden = true; return; }
    timer = setTimeout(function () { ask(input); }, 150);
  });
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input || !input.hasAttribute || !input.hasAttribute("data-suggest")) { return; }
    if (event.key === "Escape") {
      listFor(input).hidden = true;
    } else if (event.key === "ArrowDown") {       // into the list; Tab works as well
      var first = listFor(input).querySelector("a");
      if (first) { event.preventDefault(); first.focus(); }
    }
  });
  document.addEventListener("click", function (event) {   // a click elsewhere folds the list away
    document.querySelectorAll("ul.suggest").forEach(function (list) {
      if (!list.parentNode.contains(event.target)) { list.hidden = true; }
    });
  });
})();
