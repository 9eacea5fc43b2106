// Progressive enhancement of the evidence form (the form works the same without it):
// files can be dropped on the marked zone, and the chosen files are listed with their size,
// with a warning for a file over the workspace's limit (the server checks again and decides).
(function () {
  "use strict";
  function human(n) {
    return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : n >= 1024 ? (n / 1024).toFixed(0) + " KB" : n + " B";
  }
  function list(zone, input) {
    var out = zone.querySelector(".dropzone-list");
    var limit = parseInt(zone.getAttribute("data-limit") || "0", 10);
    var tooBig = zone.getAttribute("data-too-big") || "";
    out.textContent = "";
    Array.prototype.forEach.call(input.files, function (file) {
      var li = document.createElement("li");
      li.textContent = file.name + " — " + human(file.size);
      if (limit && file.size > limit) {
        li.className = "too-big";
        li.textContent += " — " + tooBig;
      }
      out.appendChild(li);
    });
  }
  document.querySelectorAll(".dropzone").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    if (!input) { return; }
    zone.classList.add("dropzone-on");
    input.addEventListener("change", function () { list(zone, input); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dropzone-over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dropzone-over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        list(zone, input);
      }
    });
  });
})();
