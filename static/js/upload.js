// Upload with a progress bar: each file is sent with tus (tus-js-client, vendored) to
// /api/v1/uploads, one after the other, in chunks, showing percent, speed and time
// left. A dropped connection is retried by itself; after a reload, choosing the same
// file again resumes where it stopped (the client remembers the upload's URL in
// localStorage) and says so. Errors are the API's JSON messages. When every file is
// in, the browser opens the video (or the library). Without JavaScript, or without
// tus support in the browser, the form posts the files to the page as before.
(function () {
  "use strict";

  var form = document.querySelector("form[data-upload-form]");
  if (!form || !window.tus || !window.tus.isSupported || !window.Promise) {
    return;
  }
  var input = form.querySelector("input[type=file]");
  var token = form.querySelector("input[name=csrf_token]").value;
  var maxBytes = Number(form.dataset.maxBytes);
  var tooLargeMessage = form.dataset.tooLargeMessage;
  var libraryUrl = form.dataset.libraryUrl;
  var uploadsUrl = form.dataset.uploadsUrl;
  var videoUrl = form.dataset.videoUrl; // with VIDEO_ID where the id goes
  // At most this much is sent per request, so a dropped connection loses no more than one chunk.
  var chunkSize = Number(form.dataset.chunkBytes);
  // Waits before each new try after a failure: the last ones outlast a server restart.
  var retryDelays = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000];
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
  var currentUpload = null;

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

  // The message of the API's JSON error, else what the status says.
  function errorMessage(error) {
    var response = error.originalResponse;
    if (!response) {
      return "The connection to the server was lost. Check the network and try again.";
    }
    try {
      var body = JSON.parse(response.getBody());
      if (body && body.error && body.error.message) {
        return body.error.message;
      }
    } catch (ignored) {
      // not JSON: say what the status says
    }
    if (response.getStatus() === 413) {
      return tooLargeMessage;
    }
    return "The upload failed (HTTP " + response.getStatus() + "). Please try again.";
  }

  // Try again after a lost connection or a passing failure; never after the portal's verdict
  // on the file (not a video, wrong checksum, no space): that upload is gone.
  function shouldRetry(error) {
    var response = error.originalResponse;
    var status = response ? response.getStatus() : 0;
    return !cancelled && (status === 0 || status === 409 || status === 423 || (status >= 500 && status !== 507));
  }

  function send(file, row) {
    return new Promise(function (resolve, reject) {
      if (file.size > maxBytes) {
        reject(new Error(tooLargeMessage));
        return;
      }
      var fileUrl = null;
      var upload = new window.tus.Upload(file, {
        endpoint: uploadsUrl,
        chunkSize: chunkSize,
        retryDelays: retryDelays,
        metadata: { filename: file.name },
        headers: { "X-CSRFToken": token },
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        onShouldRetry: shouldRetry,
        onAfterResponse: function (request, response) {
          if (request.getMethod() === "HEAD" && response.getStatus() === 200 && file.size) {
            var offset = Number(response.getHeader("Upload-Offset"));
            if (offset > 0) {
              setState(row, "Resuming at " + Math.floor((offset / file.size) * 100) + "%", "active");
              row.lastLoaded = offset;
            }
          }
          fileUrl = response.getHeader("Portal-File-URL") || fileUrl;
        },
        onProgress: function (sent, total) {
          showProgress(row, sent, total);
          if (sent === total) {
            // Every byte is sent; the server now checks the type and the checksum.
            setState(row, "Checking", "active");
          }
        },
        onSuccess: function () {
          if (!fileUrl) {
            reject(new Error("The server did not say where the video is. Please try again."));
            return;
          }
          var id = fileUrl.split("/").pop();
          resolve(new URL(videoUrl.replace("VIDEO_ID", id), window.location.href).href);
        },
        onError: function (error) {
          reject(new Error(cancelled ? "Cancelled: this file was not stored." : errorMessage(error)));
        },
      });
      currentUpload = upload;
      row.lastTime = performance.now();
      setState(row, "Uploading", "active");
      upload.findPreviousUploads().then(function (previous) {
        if (previous.length) {
          upload.resumeFromPreviousUpload(previous[0]);
        }
        upload.start();
      }, function () {
        upload.start();
      });
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

  // "Uploaded", said by the page opened next (static/js/portal.js reads it there once): this script gets no
  // flash message, which a batch of many files would pile up in the session cookie.
  function leaveNotice(path, files) {
    var names = files.slice(0, 5).map(function (file) { return "“" + file.name + "”"; }).join(", ");
    if (files.length > 5) {
      names += " and " + (files.length - 5) + " more";
    }
    var message = files.length === 1 ? "Uploaded " + names + "." : "Uploaded " + files.length + " videos: " + names + ".";
    try {
      window.sessionStorage.setItem("portal:uploaded", JSON.stringify({ path: path, message: message }));
    } catch (ignored) {
      // no storage: the page opened shows the video (or the library) without the message
    }
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
    currentUpload = null;
    cancelButton.hidden = true;
    if (failures === 0) {
      title.textContent = "Upload complete, opening…";
      var target = new URL(files.length === 1 ? locations[0] : libraryUrl, window.location.href);
      leaveNotice(target.pathname, files);
      window.location.assign(target.href);
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
    if (currentUpload) {
      var upload = currentUpload;
      // Stop sending and remove what the server kept; abort() does not call onError itself.
      upload.abort(true).catch(function () {}).then(function () {
        upload.options.onError(new Error("cancelled"));
      });
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (uploading) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
