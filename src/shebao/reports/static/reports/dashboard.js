/* The leader's dashboard: draws the figures of /reports/dashboard/data.json with ECharts.
   No build step; plain ES2017. Clicking a region's bar opens the same dashboard for it. */
(function () {
  "use strict";

  var root = document.getElementById("dashboard");
  if (!root || typeof echarts === "undefined") {
    return;
  }
  var BLUE = "#1660b0";
  var LIGHT = "#8fb8e6";
  var GREEN = "#1e7b46";
  var AMBER = "#d08a00";
  var RED = "#c0392b";
  var GREY = "#6b7785";
  var FONT = '"PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';
  var charts = [];

  function wan(value) {
    return value === null || value === undefined ? null : Math.round(value / 100) / 100;
  }

  function pct(value) {
    return value === null || value === undefined ? "—" : value.toFixed(1) + "%";
  }

  function count(value, unit) {
    if (value === null || value === undefined) {
      return "—";
    }
    if (Math.abs(value) >= 100000) {
      return (value / 10000).toFixed(2) + "万" + unit;
    }
    return value.toLocaleString("zh-CN") + unit;
  }

  // A change with its sign: "+1,234人", "−86.50万人" (the minus sign, not a hyphen).
  function signed(value, unit) {
    if (value === null || value === undefined) {
      return "—";
    }
    var sign = value > 0 ? "+" : value < 0 ? "\u2212" : "";
    return sign + count(Math.abs(value), unit);
  }

  function make(id) {
    var el = document.getElementById(id);
    var chart = echarts.init(el, null, { renderer: "canvas" });
    charts.push(chart);
    return chart;
  }

  function empty(chart, text) {
    chart.setOption({
      title: {
        text: text,
        left: "center",
        top: "middle",
        textStyle: { color: GREY, fontSize: 14, fontWeight: "normal", fontFamily: FONT },
      },
    });
  }

  function regionsChart(data) {
    var chart = make("chart-regions");
    var rows = data.subordinates;
    if (!rows.length) {
      empty(chart, data.region.name + "没有下级地区的上报数据");
      return;
    }
    var unit = data.metric.unit;
    var current = data.metrics.filter(function (m) {
      return m.code === data.metric.code;
    })[0];
    // Where the month's target puts the whole region, as a share of its annual target.
    var expected =
      current && current.month_target && current.annual_target
        ? Math.round((current.month_target / current.annual_target) * 1000) / 10
        : null;
    var lines = [
      {
        yAxis: 100,
        name: "全年目标",
        lineStyle: { color: RED, type: "solid", width: 2 },
        label: { formatter: "全年目标 100%", color: RED, position: "insideStartTop" },
      },
    ];
    if (expected !== null) {
      lines.push({
        yAxis: expected,
        name: "月目标进度",
        lineStyle: { color: AMBER, type: "dashed", width: 2 },
        label: {
          formatter: data.month + "月目标进度 " + expected + "%",
          color: AMBER,
          position: "insideStartBottom",
        },
      });
    }
    chart.setOption({
      textStyle: { fontFamily: FONT },
      grid: { left: 56, right: 24, top: 36, bottom: 64 },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          var r = rows[items[0].dataIndex];
          return [
            "<b>" + r.name + "</b>",
            "累计" + data.metric.label + "：" + count(r.value, unit),
            "全年目标：" + count(r.annual_target, unit) + "（完成 " + pct(r.annual_percent) + "）",
            data.month + "月目标：" + count(r.month_target, unit) + "（完成 " + pct(r.month_percent) + "）",
            "较上月新增：" + signed(r.increase, unit),
            r.source ? "来源：" + r.source : "",
            r.drillable ? '<span style="color:' + BLUE + '">点击查看' + r.name + "</span>" : "",
          ].join("<br>");
        },
      },
      legend: { data: ["完成全年目标", "完成月目标"], top: 0, right: 8 },
      xAxis: {
        type: "category",
        data: rows.map(function (r) {
          return r.name;
        }),
        axisLabel: { interval: 0, rotate: rows.length > 10 ? 35 : 0, fontSize: 12 },
      },
      yAxis: {
        type: "value",
        name: "%",
        max: function (v) {
          return Math.max(120, Math.ceil(v.max / 20) * 20);
        },
      },
      series: [
        {
          name: "完成全年目标",
          type: "bar",
          barMaxWidth: 36,
          itemStyle: { color: BLUE },
          data: rows.map(function (r) {
            var behind = r.month_percent !== null && r.month_percent < 100;
            return {
              value: r.annual_percent,
              itemStyle: { color: behind ? AMBER : BLUE },
              cursor: r.drillable ? "pointer" : "default",
            };
          }),
          // Inside the bar's top: above it the 100% line and the month dots would cover it.
          label: {
            show: rows.length <= 20,
            position: "insideTop",
            distance: 6,
            color: "#fff",
            fontWeight: "bold",
            formatter: function (p) {
              return p.value === null || p.value === undefined ? "" : p.value + "%";
            },
            fontSize: 11,
          },
          markLine: { symbol: "none", silent: true, data: lines },
        },
        {
          name: "完成月目标",
          type: "line",
          symbol: "circle",
          symbolSize: 7,
          lineStyle: { width: 0 },
          itemStyle: { color: GREEN },
          data: rows.map(function (r) {
            return r.month_percent;
          }),
        },
      ],
    });
    chart.on("click", function (params) {
      var r = rows[params.dataIndex];
      if (r && r.drillable) {
        window.location.href = data.drill_url + "&region=" + encodeURIComponent(r.code);
      }
    });
  }

  function trendChart(data) {
    var chart = make("chart-trend");
    var points = data.trend.points;
    var unit = "万" + data.metric.unit;
    var lines = [];
    if (data.trend.annual_target !== null) {
      lines.push({
        yAxis: wan(data.trend.annual_target),
        lineStyle: { color: RED, type: "solid" },
        label: { formatter: "全年目标 {c}", color: RED, position: "insideMiddleTop" },
      });
    }
    chart.setOption({
      textStyle: { fontFamily: FONT },
      grid: { left: 64, right: 56, top: 72, bottom: 32 },
      tooltip: {
        trigger: "axis",
        valueFormatter: function (v) {
          return v === null || v === undefined ? "—" : v + unit;
        },
      },
      legend: { data: ["累计值", "月目标", "当月新增"], top: 0 },
      xAxis: {
        type: "category",
        data: points.map(function (p) {
          return p.month + "月";
        }),
        axisLabel: { interval: 0, fontSize: 11 },
      },
      // Cumulative counts on the left, not from zero (a year moves them by a fifth);
      // the month's increase on the right, from zero.
      yAxis: [
        {
          type: "value",
          name: "累计（" + unit + "）",
          scale: true,
          // The annual target's line stays in view: the month targets (in the data)
          // reach it in December.
          nameTextStyle: { align: "left" },
        },
        {
          type: "value",
          name: "新增（" + unit + "）",
          splitLine: { show: false },
          nameTextStyle: { align: "right" },
        },
      ],
      series: [
        {
          name: "当月新增",
          type: "bar",
          yAxisIndex: 1,
          barMaxWidth: 20,
          itemStyle: { color: LIGHT },
          data: points.map(function (p) {
            return wan(p.increase);
          }),
        },
        {
          name: "累计值",
          type: "line",
          itemStyle: { color: BLUE },
          lineStyle: { width: 3 },
          data: points.map(function (p) {
            return wan(p.value);
          }),
          markLine: { symbol: "none", silent: true, data: lines },
        },
        {
          name: "月目标",
          type: "line",
          itemStyle: { color: AMBER },
          lineStyle: { type: "dashed" },
          symbol: "none",
          data: points.map(function (p) {
            return wan(p.month_target);
          }),
        },
      ],
    });
  }

  function banksChart(data) {
    var chart = make("chart-banks");
    var banks = data.banks;
    if (!banks.length) {
      empty(chart, "暂无合作银行开户数据");
      return;
    }
    chart.setOption({
      textStyle: { fontFamily: FONT },
      grid: { left: 8, right: 56, top: 16, bottom: 24, containLabel: true },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        formatter: function (items) {
          var b = banks[items[0].dataIndex];
          return [
            "<b>" + b.name + "</b>",
            "累计接收开户数据：" + count(b.received, "人"),
            "累计完成开户：" + count(b.opened, "人"),
            "未完成开户：" + count(b.not_opened, "人"),
            "完成率：" + pct(b.rate),
          ].join("<br>");
        },
      },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: {
        type: "category",
        inverse: true,
        data: banks.map(function (b) {
          return b.name;
        }),
      },
      series: [
        {
          name: "完成率",
          type: "bar",
          barMaxWidth: 28,
          data: banks.map(function (b) {
            return { value: b.rate, itemStyle: { color: b.rate !== null && b.rate < 85 ? AMBER : GREEN } };
          }),
          label: { show: true, position: "right", formatter: "{c}%" },
        },
      ],
    });
  }

  function rankingChart(data) {
    var chart = make("chart-ranking");
    var rows = data.ranking.filter(function (r) {
      return r.annual_percent !== null;
    });
    if (!rows.length) {
      empty(chart, "没有设定全年目标的下级地区");
      return;
    }
    chart.setOption({
      textStyle: { fontFamily: FONT },
      grid: { left: 8, right: 64, top: 8, bottom: 24, containLabel: true },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var r = rows[p.dataIndex];
          return "第" + (p.dataIndex + 1) + "名 " + r.name + "：完成全年目标 " + pct(r.annual_percent);
        },
      },
      xAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
      yAxis: {
        type: "category",
        inverse: true,
        data: rows.map(function (r, i) {
          return i + 1 + ". " + r.name;
        }),
        axisLabel: { fontSize: 12 },
      },
      series: [
        {
          type: "bar",
          barMaxWidth: 18,
          data: rows.map(function (r) {
            return {
              value: r.annual_percent,
              itemStyle: { color: r.annual_percent >= 100 ? GREEN : BLUE },
              cursor: r.drillable ? "pointer" : "default",
            };
          }),
          label: { show: true, position: "right", formatter: "{c}%", fontSize: 11 },
        },
      ],
    });
    chart.on("click", function (params) {
      var r = rows[params.dataIndex];
      if (r && r.drillable) {
        window.location.href = data.drill_url + "&region=" + encodeURIComponent(r.code);
      }
    });
  }

  function sizeRanking(data) {
    // One bar per region: the ranking grows with the number of regions.
    var el = document.getElementById("chart-ranking");
    var n = data.ranking.length;
    el.style.height = Math.max(240, Math.min(n, 120) * 24 + 48) + "px";
  }

  fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) {
          throw new Error((body.error && body.error.message) || "数据加载失败");
        }
        return body;
      });
    })
    .then(function (data) {
      sizeRanking(data);
      regionsChart(data);
      trendChart(data);
      banksChart(data);
      rankingChart(data);
      root.setAttribute("data-ready", "true");
    })
    .catch(function (error) {
      var box = document.getElementById("dashboard-error");
      box.textContent = "图表数据加载失败：" + error.message;
      box.hidden = false;
    });

  // Coverage (全民参保登记) comes from the registration app's own figures, loaded apart so
  // that the progress figures above never wait for it.
  function coverageChart(cov) {
    var panel = document.getElementById("coverage-panel");
    var rows = cov.regions || [];
    if (!rows.length) {
      return;
    }
    panel.hidden = false;
    var chart = make("chart-coverage");
    chart.setOption({
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return pct(v); } },
      legend: { data: ["养老保险覆盖率", "医疗保险覆盖率"], top: 0 },
      grid: { left: 48, right: 24, top: 36, bottom: 48 },
      xAxis: { type: "category", data: rows.map(function (r) { return r.name; }),
               axisLabel: { interval: 0, rotate: rows.length > 8 ? 30 : 0 } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [
        { name: "养老保险覆盖率", type: "bar", itemStyle: { color: BLUE },
          data: rows.map(function (r) { return r.pension_rate; }),
          markLine: { symbol: "none", lineStyle: { color: RED, type: "dashed" },
                      label: { formatter: "养老目标" + cov.goals.pension + "%" },
                      data: [{ yAxis: cov.goals.pension }] } },
        { name: "医疗保险覆盖率", type: "bar", itemStyle: { color: GREEN },
          data: rows.map(function (r) { return r.medical_rate; }),
          markLine: { symbol: "none", lineStyle: { color: AMBER, type: "dashed" },
                      label: { formatter: "医疗目标" + cov.goals.medical + "%" },
                      data: [{ yAxis: cov.goals.medical }] } },
      ],
    });
    panel.setAttribute("data-ready", "true");
  }

  if (root.dataset.coverage) {
    fetch(root.dataset.coverage, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (cov) {
        if (cov) {
          coverageChart(cov);
        }
      })
      .catch(function () {});
  }

  window.addEventListener("resize", function () {
    charts.forEach(function (c) {
      c.resize();
    });
  });
})();
