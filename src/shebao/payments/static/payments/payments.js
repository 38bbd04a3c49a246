/* Payment pages: follow a background job's progress and reload the page when it ends (the
   page then shows the batch, or the job's error). No build step. */
(function () {
  "use strict";

  function pollJob(box) {
    var url = box.getAttribute("data-job-url");
    var bar = box.querySelector("progress");
    var text = box.querySelector(".job-message");
    var status = box.querySelector(".job-status");
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          if (job.error && !job.status) { text.textContent = job.error.message; return; }
          status.textContent = job.status_label;
          text.textContent = job.message || "";
          if (job.percent !== null && job.percent !== undefined) { bar.value = job.percent; bar.textContent = job.percent + "%"; }
          if (job.final) { window.location.reload(); return; }
          window.setTimeout(tick, 1000);
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    window.setTimeout(tick, 500);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-job-url]"), pollJob);
  });
})();
