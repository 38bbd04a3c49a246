// 我的电子社保卡: count the QR code's 60 seconds down and fetch the next code when it runs
// out (or on "刷新二维码"). The server's expiry is compared with the local clock through the
// offset measured when the page (or the last code) arrived.
(function () {
  "use strict";
  var box = document.getElementById("ecard-qr");
  if (!box) { return; }
  var image = document.getElementById("ecard-qr-image");
  var seconds = document.getElementById("ecard-seconds");
  var error = document.getElementById("ecard-error");
  var form = document.getElementById("ecard-refresh-form");
  var url = box.getAttribute("data-refresh-url");
  var ttl = parseInt(box.getAttribute("data-ttl"), 10) || 60;
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  // The page was rendered with a code valid for `ttl` seconds from now.
  var deadline = Date.now() + ttl * 1000;
  var fetching = false;

  function show(left) {
    seconds.textContent = String(Math.max(0, left));
  }

  function refresh() {
    if (fetching) { return; }
    fetching = true;
    image.classList.add("stale");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      fetching = false;
      if (!result.ok) {
        error.textContent = (result.body.error && result.body.error.message) || "二维码刷新失败";
        error.hidden = false;
        return;
      }
      error.hidden = true;
      image.src = result.body.image;
      image.setAttribute("data-text", result.body.text);
      image.classList.remove("stale");
      deadline = Date.now() + (result.body.ttl || ttl) * 1000;
      show(result.body.ttl || ttl);
    }).catch(function () {
      fetching = false;
      error.textContent = "网络异常，二维码未能刷新，请稍后重试";
      error.hidden = false;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    refresh();
  });

  window.setInterval(function () {
    var left = Math.ceil((deadline - Date.now()) / 1000);
    show(left);
    if (left <= 0) { refresh(); }
  }, 1000);
})();
