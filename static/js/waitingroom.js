/*
 * The waiting page without reloading: every few seconds (the server's suggestion, with jitter so
 * that a crowd does not ask in step) it fetches the release's shared queue state, which is the
 * same for everyone and may come from a cache, and compares it with this browser's place.
 * The numbers are updated in place; the page reloads when something changes what it says
 * (the draw at the opening, being called, sold out). Without JavaScript the page refreshes itself.
 */
(function () {
  "use strict";

  var queue = document.querySelector("[data-queue]");
  if (!queue || !queue.dataset.poll) {
    return;
  }
  var interval = parseInt(queue.dataset.poll, 10) * 1000;
  var place = queue.dataset.place ? parseInt(queue.dataset.place, 10) : null;
  var status = queue.dataset.status;
  var drawn = queue.dataset.drawn === "1";

  function count(element, n) {
    if (element) {
      var text = n === 1 ? element.dataset.one : element.dataset.many.replace("%(count)s", String(n));
      if (n === 0 && element.dataset.none) {
        text = element.dataset.none;
      }
      if (element.textContent !== text) {
        element.textContent = text; // only on change: the live region announces changes, not repeats
      }
    }
  }

  function stamp(iso) {
    var element = queue.querySelector("[data-computed-at]");
    if (element && iso) {
      var time = new Date(iso).toLocaleTimeString(document.documentElement.lang, { hour12: false });
      element.textContent = element.dataset.text.replace("%(time)s", time);
    }
  }

  function poll() {
    fetch(queue.dataset.stateUrl, { credentials: "omit" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (state) {
        if (state === null) {
          return schedule();
        }
        var called = place !== null && place <= state.called_up_to;
        if (state.status !== status || state.drawn !== drawn || called) {
          window.location.reload();
          return;
        }
        if (place !== null) {
          count(queue.querySelector("[data-ahead]"), Math.max(0, place - state.called_up_to - 1));
        }
        if (state.free !== null) {
          count(queue.querySelector("[data-free]"), state.free);
        }
        stamp(state.computed_at);
        interval = (state.poll_seconds || interval / 1000) * 1000;
        schedule();
      })
      .catch(schedule);
  }

  function schedule() {
    // 80% to 120% of the suggested interval.
    window.setTimeout(poll, interval * (0.8 + Math.random() * 0.4));
  }

  schedule();
})();
