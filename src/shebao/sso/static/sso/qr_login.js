// Cross-device sign-in: poll the QR sign-in's status; once the holder confirmed on the phone,
// submit the completion form (which signs this browser in), or say why not.
(function () {
  "use strict";
  var box = document.getElementById("qr-login");
  if (!box) { return; }
  var state = document.getElementById("qr-state");
  var form = document.getElementById("qr-complete");
  var url = box.getAttribute("data-status-url");
  var texts = {
    pending: "等待扫码确认…",
    confirmed: "已在手机上确认，正在登录…",
    refused: "已在手机上拒绝本次登录。刷新页面可重新扫码。",
    expired: "二维码已过期，请刷新页面。",
    completed: "该二维码已使用，请刷新页面。",
    unknown: "二维码已失效，请刷新页面。"
  };
  var timer = null;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var status = data.status;
        if (status === "pending") {
          state.textContent = texts.pending + "（" + data.seconds_left + " 秒后过期）";
          return;
        }
        state.textContent = texts[status] || texts.unknown;
        window.clearInterval(timer);
        if (status === "confirmed") { form.submit(); }
      })
      .catch(function () { /* a dropped poll is retried by the next tick */ });
  }
  timer = window.setInterval(poll, 1500);
  poll();
})();
