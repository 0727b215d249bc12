// How many text messages an SMS takes, shown live under a textarea marked data-sms-length (its value says how
// the browser sends its line ends: "crlf" as typed, "lf" when the server makes them LF) and
// data-sms-length-target (the id of the line that says it). The count is the one
// webapp/notifications/segments.py makes: GSM-7, 160 characters or 153 per part (the extension characters take
// two places, never split); otherwise UCS-2, 70 or 67 per part (a character outside the BMP takes two).
// Without JavaScript the server's own line, written when the page was made, stays as it is.
(function () {
  "use strict";

  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "^{}\\[~]|€\f";
  var LIMITS = { "GSM-7": [160, 153], "UCS-2": [70, 67] };

  function segments(text) {
    var characters = Array.from(text);
    var gsm = characters.every(function (c) { return BASIC.indexOf(c) >= 0 || EXTENSION.indexOf(c) >= 0; });
    var encoding = gsm ? "GSM-7" : "UCS-2";
    var places = characters.map(function (c) {
      if (gsm) return EXTENSION.indexOf(c) >= 0 ? 2 : 1;
      return c.codePointAt(0) > 0xffff ? 2 : 1;
    });
    var units = places.reduce(function (sum, size) { return sum + size; }, 0);
    var single = LIMITS[encoding][0], part = LIMITS[encoding][1];
    if (units <= single) {
      return { characters: characters.length, encoding: encoding, units: units, count: text ? 1 : 0, perMessage: single };
    }
    var count = 1, used = 0;
    places.forEach(function (size) {
      if (used + size > part) { count += 1; used = 0; }
      used += size;
    });
    return { characters: characters.length, encoding: encoding, units: units, count: count, perMessage: part };
  }

  function summary(found) {
    var characters = found.characters + " character" + (found.characters !== 1 ? "s" : "");
    if (found.count === 0) return characters;
    if (found.count === 1) return characters + " · 1 text message";
    return characters + " · " + found.count + " text messages of up to " + found.perMessage + " (" + found.encoding + ")";
  }

  // What the server trims from around a text (trimmed() in webapp/forms.py): Python's white space
  // (str.isspace, which also counts U+001C-U+001F and U+0085, unlike trim()) and the byte-order mark U+FEFF.
  var SURROUNDING = /[\s\x1c-\x1f\x85\ufeff]/;

  function trimmed(text) {
    var start = 0, end = text.length;
    while (start < end && SURROUNDING.test(text.charAt(start))) start += 1;
    while (end > start && SURROUNDING.test(text.charAt(end - 1))) end -= 1;
    return text.slice(start, end);
  }

  // What the server will read: the line ends as the browser sends them, nothing unseen around the text.
  function asSent(textarea) {
    var text = textarea.value;
    if (textarea.dataset.smsLength === "crlf") text = text.replace(/\r?\n/g, "\r\n");
    return trimmed(text);
  }

  function watch(textarea) {
    var line = document.getElementById(textarea.dataset.smsLengthTarget);
    var spoken = document.getElementById(textarea.dataset.smsLengthTarget + "-live");
    var pause = null;
    if (!line) return;
    textarea.addEventListener("input", function () {
      var said = summary(segments(asSent(textarea)));
      line.textContent = said;
      if (!spoken) return;
      window.clearTimeout(pause); // a screen reader hears the count once typing pauses, not at every key
      pause = window.setTimeout(function () { spoken.textContent = said; }, 1000);
    });
  }

  window.smsLength = { segments: segments, summary: summary, trimmed: trimmed };
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-sms-length]").forEach(watch);
  });
})();
