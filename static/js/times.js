// Times in the viewer's own zone. The server writes every moment as <time datetime="…Z" data-when> with its UTC
// text (webapp/templating.py's `when`); this shows it in the browser's zone and language instead: a relative
// time while it is under a week away ("5 minutes ago", "yesterday"), the date and time after that, and the exact
// time, with its zone, as the tooltip. Relative times are brought up to date every 30 seconds.
(() => {
  "use strict";
  const MINUTE = 60;
  const WEEK = 7 * 24 * 60 * MINUTE;
  const UNITS = [
    ["day", 24 * 60 * MINUTE],
    ["hour", 60 * MINUTE],
    ["minute", MINUTE],
  ];
  const dateAndTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const exact = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "long" });
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

  function describe(moment, now) {
    const seconds = (moment - now) / 1000;
    if (Math.abs(seconds) >= WEEK) return dateAndTime.format(moment);
    if (Math.abs(seconds) < MINUTE) return seconds <= 0 ? "just now" : "in a moment";
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size) return relative.format(Math.trunc(seconds / size), unit);
    }
    return dateAndTime.format(moment);
  }

  function render() {
    const now = Date.now();
    for (const element of document.querySelectorAll("time[data-when]")) {
      const moment = new Date(element.getAttribute("datetime"));
      if (Number.isNaN(moment.getTime())) continue;
      element.textContent = describe(moment, now);
      element.title = exact.format(moment);
    }
  }

  render();
  window.setInterval(render, 30 * 1000);
})();
