// The colour theme: loaded in <head> without defer, so it runs before the first paint (the CSP allows no inline
// script). It follows the system (prefers-color-scheme) until the person chooses otherwise with the navbar's
// toggle; the choice is remembered in this browser only (localStorage), and choosing what the system says
// goes back to following it.
(() => {
  "use strict";
  const KEY = "theme";
  const system = window.matchMedia("(prefers-color-scheme: dark)");

  function stored() {
    try {
      const value = window.localStorage.getItem(KEY);
      return value === "dark" || value === "light" ? value : null;
    } catch {
      return null; // storage refused (a private window, a policy): follow the system
    }
  }

  function remember(theme) {
    try {
      if (theme === (system.matches ? "dark" : "light")) window.localStorage.removeItem(KEY);
      else window.localStorage.setItem(KEY, theme);
    } catch {
      // not remembered; it still applies to this page
    }
  }

  function current() {
    return stored() || (system.matches ? "dark" : "light");
  }

  function show(theme) {
    document.documentElement.setAttribute("data-bs-theme", theme);
    const toggle = document.getElementById("theme-toggle");
    if (toggle) toggle.setAttribute("aria-pressed", String(theme === "dark"));
  }

  show(current());
  system.addEventListener("change", () => show(current()));
  window.addEventListener("storage", (event) => event.key === KEY && show(current())); // another tab chose

  document.addEventListener("DOMContentLoaded", () => {
    const toggle = document.getElementById("theme-toggle");
    if (!toggle) return;
    toggle.hidden = false; // without JavaScript there is nothing it could do, so it is only shown now
    show(current());
    toggle.addEventListener("click", () => {
      const chosen = current() === "dark" ? "light" : "dark";
      remember(chosen);
      show(chosen);
    });
  });
})();
