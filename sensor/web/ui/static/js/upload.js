// Capture upload: multipart POST /api/v1/captures with XHR, so that the
// progress bar follows the upload; then the list reloads and polls while
// the analysis runs.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (!form) return;
    var input = document.getElementById("upload-file");
    var btn = document.getElementById("upload-submit");
    var state = document.getElementById("upload-state");
    var bar = document.getElementById("upload-progress");
    var text = document.getElementById("upload-text");

    function refreshList() {
      if (window.htmx) {
        window.htmx.ajax("GET", "/captures", { target: "#capture-list", swap: "outerHTML", select: "#capture-list" });
      } else {
        window.location.reload();
      }
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!input.files || !input.files.length) {
        window.otwatch.flash("Choose a capture file first.");
        return;
      }
      var f = input.files[0];
      var fd = new FormData();
      fd.append("file", f, f.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"));
      xhr.setRequestHeader("X-CSRF-Token", window.otwatch.csrf());
      xhr.setRequestHeader("Accept", "application/json");
      state.hidden = false;
      bar.value = 0;
      btn.disabled = true;
      form.setAttribute("data-state", "uploading");
      text.textContent = "Uploading " + f.name + "…";
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round(100 * e.loaded / e.total);
          text.textContent = "Uploading " + f.name + ": " + bar.value + "%";
        }
      });
      xhr.addEventListener("load", function () {
        btn.disabled = false;
        if (xhr.status >= 200 && xhr.status < 300) {
          bar.value = 100;
          var c = {};
          try { c = JSON.parse(xhr.responseText); } catch (e) { c = {}; }
          text.textContent = "Uploaded " + f.name + ": analysing…";
          form.setAttribute("data-state", "done");
          if (c.id) form.setAttribute("data-capture", c.id);
          form.reset();
          refreshList();
        } else {
          form.setAttribute("data-state", "error");
          text.textContent = "";
          state.hidden = true;
          window.otwatch.flash(window.otwatch.errorText(xhr.status, xhr.responseText));
        }
      });
      xhr.addEventListener("error", function () {
        btn.disabled = false;
        form.setAttribute("data-state", "error");
        state.hidden = true;
        window.otwatch.flash("The upload failed: the sensor did not answer.");
      });
      xhr.send(fd);
    });
  });
})();
