/* Dashboards (issue 10): draw each chart fragment loaded by htmx with ECharts, wire the table
   toggle and the drill-down (a click on a bar or slice opens the records behind it).
   Data comes from {{ chart|json_script }}; no inline script (CSP). */
(function () {
  "use strict";
  var FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", "PingFang SC", "Hiragino Sans GB", ' +
    '"Microsoft YaHei", "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif';
  var instances = {};
  window.salesflowCharts = instances;

  function lang() {
    var l = (document.documentElement.getAttribute("lang") || "en").toLowerCase();
    return l.indexOf("zh") === 0 ? "ZH" : "EN";
  }

  function num(v) {
    return v === null || v === undefined || v === "" ? null : Number(v);
  }

  function option(data) {
    var horizontal = !!data.horizontal;
    var base = {
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: data.series.length && data.series[0].type === "funnel" ? "item" : "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      animation: false
    };
    if (data.series.length && data.series[0].type === "funnel") {
      var s = data.series[0];
      base.series = [{
        name: s.name, type: "funnel", sort: "none", top: 32, bottom: 8, left: "10%", width: "80%",
        label: { show: true, position: "inside", formatter: "{b}: {c}" },
        data: data.categories.map(function (c, i) { return { name: c, value: num(s.data[i]) }; })
      }];
      return base;
    }
    var catAxis = { type: "category", data: data.categories, axisLabel: { hideOverlap: true } };
    var valAxis = { type: "value" };
    if (horizontal) {
      catAxis.inverse = true;
      base.xAxis = valAxis; base.yAxis = catAxis;
    } else {
      base.xAxis = catAxis; base.yAxis = valAxis;
    }
    base.series = data.series.map(function (s) {
      var out = {
        name: s.name, type: s.type || "bar", emphasis: { focus: "series" },
        // scatter points may be [x, y] pairs (a reliability diagram); anything else is one number
        data: s.data.map(function (v) { return Array.isArray(v) ? v.map(num) : num(v); })
      };
      if (s.stack) { out.stack = s.stack; }
      if (s.type === "line") { out.connectNulls = true; out.symbolSize = 7; }
      if (s.links && s.links.length) { out.cursor = "pointer"; }
      if (s.echarts) { Object.keys(s.echarts).forEach(function (k) { out[k] = s.echarts[k]; }); }
      return out;
    });
    if (data.echarts) { Object.keys(data.echarts).forEach(function (k) { base[k] = data.echarts[k]; }); }
    return base;
  }

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-source"));
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var key = el.getAttribute("data-chart-canvas");
    if (instances[key]) { instances[key].dispose(); }
    el.style.height = Math.max(260, Number(el.getAttribute("data-height")) || 300) + "px";
    var chart = window.echarts.init(el, null, { renderer: "canvas", locale: lang() });
    chart.setOption(option(data));
    chart.on("click", function (params) {
      var s = data.series[params.seriesIndex] || data.series[0];
      var link = s && s.links ? s.links[params.dataIndex] : "";
      if (link) { window.location.href = link; }
    });
    chart.salesflowData = data;
    instances[key] = chart;
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart-canvas]").forEach(draw);
  }

  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  window.addEventListener("resize", function () {
    Object.keys(instances).forEach(function (k) { instances[k].resize(); });
  });
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-toggle-table]");
    if (!button) { return; }
    var key = button.getAttribute("data-toggle-table");
    var card = button.closest(".card");
    var table = card.querySelector('[data-table="' + key + '"]');
    var canvas = card.querySelector('[data-chart-canvas="' + key + '"]');
    if (!table) { return; }
    var showTable = table.classList.contains("d-none");
    table.classList.toggle("d-none", !showTable);
    if (canvas) {
      canvas.classList.toggle("d-none", showTable);
      if (!showTable && instances[key]) { instances[key].resize(); }
    }
  });
})();
