// Upload a return: drag-and-drop or file picker, a progress bar, then the findings page.
// Without JavaScript the form posts normally and the server redirects to the same page.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) { return; }
  var input = document.getElementById("file-input");
  var zone = document.getElementById("dropzone");
  var chosen = document.getElementById("chosen");
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  var button = document.getElementById("upload-button");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
  var maxMb = form.getAttribute("data-max-mb");
  var picked = null;

  function say(text, isError) {
    status.textContent = text;
    status.className = "upload-status" + (isError ? " error" : "");
  }

  function problem(file) {
    if (!/\.(xlsx|xlsm|xls|et|ods)$/i.test(file.name)) { return "只接收 .xlsx、.xlsm、.xls、.et、.ods 报表文件；其他格式请另存为 .xlsx 后上传"; }
    if (file.size > maxBytes) {
      return "文件大小 " + (file.size / 1048576).toFixed(1) + " MB，超过上限 " + maxMb + " MB";
    }
    return null;
  }

  function pick(file) {
    picked = file;
    chosen.textContent = file ? file.name + "（" + (file.size / 1024).toFixed(1) + " KB）" : "";
    var p = file ? problem(file) : null;
    say(p || "", !!p);
  }

  input.addEventListener("change", function () { pick(input.files[0] || null); });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) {
    var files = e.dataTransfer && e.dataTransfer.files;
    if (!files || !files.length) { return; }
    // Also hand the file to the input, so its `required` check passes like a picked file.
    try { input.files = files; } catch (err) { input.required = false; }
    pick(files[0]);
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!picked) { say("请选择要上传的报表文件（.xlsx、.xls、.et 或 .ods）", true); return; }
    var p = problem(picked);
    if (p) { say(p, true); return; }
    var data = new FormData();
    data.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    data.append("file", picked, picked.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.responseType = "json";
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    say("正在上传…", false);
    xhr.upload.addEventListener("progress", function (ev) {
      if (ev.lengthComputable) {
        bar.value = Math.round(ev.loaded * 100 / ev.total);
        say(ev.loaded < ev.total ? "正在上传… " + bar.value + "%" : "上传完成，正在校验…", false);
      }
    });
    xhr.addEventListener("load", function () {
      var body = xhr.response || {};
      if (xhr.status === 200 && body.redirect) { window.location.assign(body.redirect); return; }
      button.disabled = false;
      bar.hidden = true;
      if (body.error) { say(body.error, true); }
      else if (xhr.status === 413) { say("文件过大，超过上限 " + maxMb + " MB", true); }
      else if (xhr.status === 200) { say("登录已失效，请刷新页面重新登录", true); }
      else if (xhr.status === 400) { say("页面已过期，请刷新页面后重新上传", true); }
      else if (xhr.status === 401 || xhr.status === 403) { say("登录已失效或无权上传，请重新登录", true); }
      else { say("上传失败（" + xhr.status + "），请稍后重试", true); }
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      bar.hidden = true;
      say("网络错误，上传未完成，请重试", true);
    });
    xhr.send(data);
  });
  // Marks the form as ready so a page (or a test) knows drops are now handled.
  form.setAttribute("data-ready", "1");
}());
