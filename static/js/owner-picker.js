// The admins' owner picker on the records list: the owner field becomes an ARIA combobox (the WAI-ARIA 1.2 list
// autocomplete pattern) offering the verified emails that start with what was typed, from GET /records/owners?q=.
// Arrow keys move through the offers, Enter takes one, Escape closes them. Without this script the field still
// takes an exact email, as it always did. A file of its own, not an inline script, so the page keeps the app's CSP.
(function () {
  "use strict";
  var input = document.querySelector("input[data-owner-picker]");
  var list = input && document.getElementById(input.dataset.ownerOptions);
  var status = input && document.getElementById(input.dataset.ownerStatus);
  if (!input || !list) {
    return;
  }
  var WAIT_MS = 200; // typing pauses this long before asking: one request per pause, not per key
  var options = [];
  var active = -1;
  var timer = 0;
  var pending = null;

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);

  function typed() {
    return input.value.trim().toLowerCase();
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    highlight(-1);
  }

  function highlight(index) {
    active = index;
    options.forEach(function (option, n) {
      option.classList.toggle("active", n === index);
      option.setAttribute("aria-selected", n === index ? "true" : "false");
    });
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function choose(index) {
    input.value = options[index].textContent;
    close();
  }

  function offer(emails) {
    options = emails.map(function (email, n) {
      var option = document.createElement("li");
      option.id = "owner-option-" + n;
      option.className = "list-group-item list-group-item-action";
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.textContent = email;
      option.addEventListener("mousedown", function (event) {
        event.preventDefault(); // the field keeps the focus, so its blur does not close the list first
      });
      option.addEventListener("click", function () {
        choose(n);
      });
      return option;
    });
    list.replaceChildren.apply(list, options);
    highlight(-1);
    list.hidden = options.length === 0;
    input.setAttribute("aria-expanded", options.length ? "true" : "false");
    if (status) {
      var many = options.length === 1 ? "1 address" : options.length + " addresses";
      status.textContent = options.length ? many + " found" : "No address starts with that";
    }
  }

  function ask(prefix) {
    if (pending) {
      pending.abort();
    }
    pending = new AbortController();
    var url = input.dataset.ownerPicker + "?q=" + encodeURIComponent(prefix);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", signal: pending.signal })
      .then(function (response) {
        return response.ok ? response.json() : { emails: [] };
      })
      .then(function (body) {
        if (typed() === prefix && document.activeElement === input) {
          offer(body.emails || []);
        }
      })
      .catch(function (error) {
        if (error.name !== "AbortError") {
          close();
        }
      });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    var prefix = typed();
    if (!prefix) {
      close();
      return;
    }
    timer = setTimeout(function () {
      ask(prefix);
    }, WAIT_MS);
  });

  input.addEventListener("keydown", function (event) {
    if (list.hidden || !options.length) {
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : options.length - 1;
      highlight(active < 0 && step !== 1 ? options.length - 1 : (active + step) % options.length);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault(); // take the offer; the next Enter sends the form
      choose(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });

  input.addEventListener("blur", close);
})();
