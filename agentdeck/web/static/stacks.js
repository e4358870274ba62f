// The stacks page's scale slider: the number beside it follows the thumb while it moves;
// the form is sent when the thumb is let go (live.js submits [data-autosubmit] forms on
// "change"), so a drag from 20 to 0 is one request, not twenty.
(function () {
  "use strict";
  function start() {
    document.querySelectorAll("input[type=range][data-output]").forEach(function (slider) {
      var output = document.getElementById(slider.getAttribute("data-output"));
      if (!output) return;
      slider.addEventListener("input", function () { output.textContent = slider.value; });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
