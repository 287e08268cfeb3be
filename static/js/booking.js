/*
 * Progressive enhancement of the booking pages; everything works without it.
 * - The error summary takes focus, so screen readers read it first.
 * - The hold countdown: visible every second, announced politely at 5, 2 and 1 minutes left
 *   and at the end (not every second, which would drown everything else out).
 * - The confirm button cannot be sent twice by a double click (the server copes anyway).
 * - A print button on the confirmation page.
 */
(function () {
  "use strict";

  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_match, key) {
      return values[key];
    });
  }

  var timer = document.querySelector("[data-hold-timer]");
  var texts = document.querySelector("[data-hold-texts]");
  if (timer && texts && timer.dataset.remaining !== "") {
    var live = timer.querySelector("[data-hold-countdown]");
    var announce = timer.querySelector("[data-hold-announce]");
    var ends = Date.now() + parseInt(timer.dataset.remaining, 10) * 1000;
    var announced = {};
    var marks = [5, 2, 1];
    live.hidden = false;

    var tick = function () {
      var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      live.textContent = format(texts.dataset.left, {
        minutes: String(minutes),
        seconds: (seconds < 10 ? "0" : "") + seconds,
      });
      if (left === 0) {
        announce.textContent = texts.dataset.expired;
        window.clearInterval(interval);
        return;
      }
      marks.forEach(function (mark) {
        // Announce a mark once, when the time left falls to it (not on a page opened later).
        if (!announced[mark] && left <= mark * 60 && left > (mark * 60) - 15) {
          announced[mark] = true;
          announce.textContent =
            mark === 1 ? texts.dataset.announceOne : format(texts.dataset.announce, { minutes: String(mark) });
        }
      });
    };
    var interval = window.setInterval(tick, 1000);
    tick();
  }

  document.querySelectorAll("[data-submit-once]").forEach(function (button) {
    button.form.addEventListener("submit", function (event) {
      if (button.dataset.sent) {
        event.preventDefault();
      }
      button.dataset.sent = "1";
    });
  });

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      window.print();
    });
  });
})();
