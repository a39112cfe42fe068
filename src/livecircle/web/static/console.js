/* Host console: copy and reveal buttons for the stream settings. */
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.querySelector(button.dataset.copy);
      var done = function () {
        var label = button.textContent;
        button.textContent = "✓";
        setTimeout(function () { button.textContent = label; }, 1200);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done);
      } else {
        var type = input.type;
        input.type = "text";
        input.select();
        document.execCommand("copy");
        input.type = type;
        done();
      }
    });
  });
  document.querySelectorAll("[data-reveal]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.querySelector(button.dataset.reveal);
      input.type = input.type === "password" ? "text" : "password";
    });
  });
})();
