// Upload with a progress bar: each file is sent by XMLHttpRequest to the same form
// endpoint the page posts to without JavaScript, one after the other, showing
// percent, speed and time left. Errors are read from the portal's error page and
// shown here. When every file is in, the browser opens the video (or the library).
(function () {
  "use strict";

  var form = document.querySelector("form[data-upload-form]");
  if (!form || !window.FormData || !window.XMLHttpRequest) {
    return;
  }
  var input = form.querySelector("input[type=file]");
  var token = form.querySelector("input[name=csrf_token]").value;
  var maxBytes = Number(form.dataset.maxBytes);
  var tooLargeMessage = form.dataset.tooLargeMessage;
  var libraryUrl = form.dataset.libraryUrl;
  var dropzone = form.querySelector("[data-dropzone]");
  var chosen = form.querySelector("[data-chosen]");
  var status = document.querySelector("[data-upload-status]");
  var title = status.querySelector("[data-upload-title]");
  var errorBox = status.querySelector("[data-upload-error]");
  var list = status.querySelector("[data-upload-list]");
  var cancelButton = status.querySelector("[data-upload-cancel]");
  var itemTemplate = document.querySelector("template[data-upload-item]");

  var uploading = false;
  var cancelled = false;
  var currentRequest = null;

  // The same binary units as the pages rendered by the server.
  function formatBytes(size) {
    var units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    var value = size;
    for (var i = 0; i < units.length; i++) {
      if (value < 1024 || i === units.length - 1) {
        return i === 0 ? Math.round(value) + " bytes" : value.toFixed(1) + " " + units[i];
      }
      value /= 1024;
    }
    return String(size);
  }

  function formatDuration(seconds) {
    if (!isFinite(seconds)) {
      return "";
    }
    seconds = Math.max(0, Math.ceil(seconds));
    if (seconds < 60) {
      return seconds + " s";
    }
    if (seconds < 3600) {
      return Math.floor(seconds / 60) + " min " + (seconds % 60) + " s";
    }
    return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
  }

  function showChosen() {
    var files = Array.prototype.slice.call(input.files);
    if (files.length === 0) {
      chosen.hidden = true;
      return;
    }
    var total = files.reduce(function (sum, file) { return sum + file.size; }, 0);
    chosen.textContent = files.length === 1
      ? files[0].name + " (" + formatBytes(total) + ")"
      : files.length + " files chosen (" + formatBytes(total) + ")";
    chosen.hidden = false;
  }

  input.addEventListener("change", showChosen);

  ["dragenter", "dragover"].forEach(function (type) {
    dropzone.addEventListener(type, function (event) {
      event.preventDefault();
      dropzone.classList.add("is-dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    dropzone.addEventListener(type, function () {
      dropzone.classList.remove("is-dragging");
    });
  });
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      showChosen();
    }
  });

  function makeRow(file) {
    var item = itemTemplate.content.firstElementChild.cloneNode(true);
    var row = {
      item: item,
      name: item.querySelector("[data-name]"),
      state: item.querySelector("[data-state]"),
      bar: item.querySelector("[data-bar]"),
      stats: item.querySelector("[data-stats]"),
      rate: 0,
      lastTime: 0,
      lastLoaded: 0,
    };
    row.name.textContent = file.name;
    row.bar.setAttribute("aria-label", "Upload of " + file.name);
    row.stats.textContent = formatBytes(file.size);
    list.appendChild(item);
    return row;
  }

  function setState(row, text, kind) {
    row.state.textContent = text;
    row.item.dataset.state = kind;
  }

  function showProgress(row, loaded, total) {
    var now = performance.now();
    var elapsed = (now - row.lastTime) / 1000;
    if (elapsed >= 0.25 || loaded === total) {
      var sample = (loaded - row.lastLoaded) / Math.max(elapsed, 0.001);
      row.rate = row.rate ? 0.7 * row.rate + 0.3 * sample : sample; // smoothed, so the estimate does not jump
      row.lastTime = now;
      row.lastLoaded = loaded;
    }
    var percent = total ? Math.floor((loaded / total) * 100) : 0;
    row.bar.value = percent;
    row.bar.textContent = percent + "%";
    var parts = [percent + "%", formatBytes(loaded) + " of " + formatBytes(total)];
    if (row.rate > 0) {
      parts.push(formatBytes(row.rate) + "/s");
      if (loaded < total) {
        parts.push(formatDuration((total - loaded) / row.rate) + " left");
      }
    }
    row.stats.textContent = parts.join(" · ");
  }

  // The message of the portal's error page, else what the status says.
  function errorMessage(request) {
    var type = request.getResponseHeader("Content-Type") || "";
    if (type.indexOf("text/html") === 0) {
      var page = new DOMParser().parseFromString(request.responseText, "text/html");
      var message = page.querySelector("[data-error-message]");
      if (message && message.textContent.trim()) {
        return message.textContent.trim();
      }
    }
    if (request.status === 413) {
      return tooLargeMessage;
    }
    return "The upload failed (HTTP " + request.status + "). Please try again.";
  }

  function send(file, row) {
    return new Promise(function (resolve, reject) {
      if (file.size > maxBytes) {
        reject(new Error(tooLargeMessage));
        return;
      }
      var data = new FormData();
      data.append("csrf_token", token);
      data.append("file", file, file.name);
      var request = new XMLHttpRequest();
      currentRequest = request;
      request.open("POST", form.action);
      request.setRequestHeader("X-CSRFToken", token);
      request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      row.lastTime = performance.now();
      setState(row, "Uploading", "active");
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          showProgress(row, event.loaded, event.total);
        }
      });
      request.upload.addEventListener("load", function () {
        // Every byte is sent; the server now checks the type and commits the file.
        row.bar.value = 100;
        row.bar.textContent = "100%";
        setState(row, "Checking", "active");
      });
      request.addEventListener("load", function () {
        if (request.status === 201) {
          resolve(new URL(request.getResponseHeader("Location"), window.location.href).href);
        } else {
          reject(new Error(errorMessage(request)));
        }
      });
      request.addEventListener("error", function () {
        reject(new Error("The connection to the server was lost. Check the network and try again."));
      });
      request.addEventListener("abort", function () {
        reject(new Error("Cancelled: this file was not stored."));
      });
      request.send(data);
    });
  }

  function finish(row, location) {
    row.bar.value = 100;
    row.bar.textContent = "100%";
    setState(row, "Uploaded", "done");
    var link = document.createElement("a");
    link.href = location;
    link.textContent = "Open";
    row.stats.textContent = "Stored and checked · ";
    row.stats.appendChild(link);
  }

  function fail(row, message) {
    setState(row, cancelled ? "Cancelled" : "Not uploaded", "failed");
    row.stats.textContent = message;
  }

  async function uploadAll(files) {
    uploading = true;
    cancelled = false;
    form.classList.add("is-busy");
    input.disabled = true;
    form.querySelector("[data-upload-submit]").disabled = true;
    list.replaceChildren();
    errorBox.hidden = true;
    cancelButton.hidden = false;
    status.hidden = false;
    title.textContent = files.length === 1 ? "Uploading 1 video" : "Uploading " + files.length + " videos";
    var rows = files.map(makeRow);
    var locations = [];
    var failures = 0;
    for (var i = 0; i < files.length; i++) {
      if (cancelled) {
        fail(rows[i], "Cancelled: this file was not sent.");
        failures++;
        continue;
      }
      try {
        var location = await send(files[i], rows[i]);
        finish(rows[i], location);
        locations.push(location);
      } catch (error) {
        fail(rows[i], error.message);
        failures++;
      }
    }
    uploading = false;
    currentRequest = null;
    cancelButton.hidden = true;
    if (failures === 0) {
      title.textContent = "Upload complete, opening…";
      window.location.assign(files.length === 1 ? locations[0] : libraryUrl);
      return;
    }
    title.textContent = locations.length
      ? locations.length + " of " + files.length + " videos uploaded"
      : (files.length === 1 ? "The video was not uploaded" : "No video was uploaded");
    if (files.length === 1) {
      errorBox.textContent = rows[0].stats.textContent; // said once, as an alert
      rows[0].stats.hidden = true;
    } else {
      errorBox.textContent = "Some files were not uploaded; the reasons are listed below. You can choose files again.";
    }
    errorBox.hidden = false;
    form.classList.remove("is-busy");
    input.disabled = false;
    input.value = "";
    showChosen();
    form.querySelector("[data-upload-submit]").disabled = false;
    title.focus();
  }

  form.addEventListener("submit", function (event) {
    var files = Array.prototype.slice.call(input.files);
    if (files.length === 0 || uploading) {
      return; // nothing chosen: the plain form (and the server) say what is missing
    }
    event.preventDefault();
    uploadAll(files);
  });

  cancelButton.addEventListener("click", function () {
    cancelled = true;
    if (currentRequest) {
      currentRequest.abort();
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (uploading) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
