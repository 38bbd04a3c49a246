/* Registration pages: poll a background job's progress and reload when it ends; draw the
   coverage charts. No build step; ECharts is the vendored copy of the reports app. */
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
    tick();
  }

  function coverageCharts(el) {
    if (!window.echarts) { return; }
    var data = JSON.parse(document.getElementById("coverage-data").textContent);
    var regions = data.regions;
    var chart = window.echarts.init(document.getElementById("chart-coverage"));
    chart.setOption({
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v + "%"; } },
      legend: { data: ["养老保险覆盖率", "医疗保险覆盖率"] },
      grid: { left: 50, right: 20, bottom: 70, top: 40 },
      xAxis: { type: "category", data: regions.map(function (r) { return r.name; }), axisLabel: { rotate: regions.length > 8 ? 40 : 0 } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [
        { name: "养老保险覆盖率", type: "bar", data: regions.map(function (r) { return r.pension_rate; }),
          markLine: { symbol: "none", data: [{ yAxis: data.goals.pension, name: "养老目标" }], label: { formatter: "养老目标 {c}%" } } },
        { name: "医疗保险覆盖率", type: "bar", data: regions.map(function (r) { return r.medical_rate; }),
          markLine: { symbol: "none", data: [{ yAxis: data.goals.medical, name: "医疗目标" }], label: { formatter: "医疗目标 {c}%" } } }
      ]
    });
    chart.on("click", function (p) {
      var r = regions[p.dataIndex];
      if (r && r.drillable) { window.location.search = "?region=" + r.code; }
    });
    var pie = window.echarts.init(document.getElementById("chart-schemes"));
    pie.setOption({
      tooltip: { trigger: "item" },
      series: [{ type: "pie", radius: ["35%", "70%"],
        data: data.schemes.map(function (s) { return { name: s.name || s.code, value: s.persons }; }) }]
    });
    window.addEventListener("resize", function () { chart.resize(); pie.resize(); });
    el.setAttribute("data-ready", "1");
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-job-url]"), pollJob);
    var coverage = document.getElementById("coverage");
    if (coverage) { coverageCharts(coverage); }
    // 全选本页: a header check box ticks or clears the rows' boxes of the same name.
    Array.prototype.forEach.call(document.querySelectorAll("[data-select-all]"), function (all) {
      var name = all.getAttribute("data-select-all");
      all.addEventListener("change", function () {
        Array.prototype.forEach.call(all.form.querySelectorAll('input[name="' + name + '"]'),
          function (box) { box.checked = all.checked; });
      });
    });
  });
})();
