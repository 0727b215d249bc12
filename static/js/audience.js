// The compose page: the recipient's email is asked for only when "One user" is chosen. Progressive enhancement:
// without JavaScript the field is always there (and the server ignores it for the other audiences); with it, the
// field's block (data-shown-for-audience="user") is hidden while another audience is chosen.
(function () {
  "use strict";

  function follow(form) {
    var blocks = form.querySelectorAll("[data-shown-for-audience]");
    var radios = form.querySelectorAll("input[type=radio][name=audience]");
    function update() {
      var chosen = form.querySelector("input[type=radio][name=audience]:checked");
      blocks.forEach(function (block) {
        block.hidden = !chosen || chosen.value !== block.dataset.shownForAudience;
      });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", update); });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-audience-form]").forEach(follow);
  });
})();
