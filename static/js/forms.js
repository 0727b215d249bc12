// What every form shares, as progressive enhancement (the pages work without it):
// - after a failed submit, focus moves to the error summary (templates/_forms.html), whose links focus their field;
// - an action that asks first (data-confirm, templates/_forms.html's ask_first) opens its <dialog> instead of the
//   confirmation page it would otherwise go to;
// - a submitted form's button shows that it is busy (disabled, a spinner) until the page is left, and again
//   works when the page comes back from the back-forward cache.
(() => {
  "use strict";

  function focusSummary() {
    const summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  }

  // A link of the summary focuses its field (a fragment alone would only scroll), with the field's label in view.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) return;
    const field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) return;
    event.preventDefault();
    const label = document.querySelector(`label[for="${CSS.escape(field.id)}"]`) || field;
    label.scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
  });

  // Asking first: runs in the capture phase, before the busy state below, which then leaves the form alone.
  document.addEventListener(
    "submit",
    (event) => {
      const dialog = event.target.dataset.confirm && document.getElementById(event.target.dataset.confirm);
      if (!dialog || typeof dialog.showModal !== "function") return; // no dialog: the confirmation page
      event.preventDefault();
      const opener = event.submitter || event.target.querySelector("button");
      dialog.showModal();
      dialog.addEventListener("close", () => opener && opener.focus(), { once: true });
    },
    true,
  );

  document.addEventListener("click", (event) => {
    const close = event.target.closest("[data-dialog-close]");
    if (close) close.closest("dialog").close();
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (event.defaultPrevented || form.dataset.busy === "off") return;
    if (form.classList.contains("is-busy")) {
      event.preventDefault(); // already on its way: a second click sends nothing twice
      return;
    }
    form.classList.add("is-busy");
    const button = event.submitter || form.querySelector("button[type=submit], button:not([type])");
    // Disabled only after this event: a disabled submitter would leave its name out of what is sent.
    window.setTimeout(() => {
      if (!button) return;
      button.disabled = true;
      button.dataset.label = button.innerHTML;
      button.insertAdjacentHTML("afterbegin", '<span class="spinner-border spinner-border-sm me-1" aria-hidden="true"></span>');
      const status = document.getElementById("busy-status");
      if (status) status.textContent = "Working…";
    }, 0);
  });

  // Back to this page from the back-forward cache: its buttons work again.
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    for (const form of document.querySelectorAll("form.is-busy")) form.classList.remove("is-busy");
    for (const button of document.querySelectorAll("button[data-label]")) {
      button.innerHTML = button.dataset.label;
      delete button.dataset.label;
      button.disabled = false;
    }
    const status = document.getElementById("busy-status");
    if (status) status.textContent = "";
  });

  focusSummary();
})();
