/*
 * The waiting page without reloading: every few seconds (the server's suggestion, with jitter so
 * that a crowd does not ask in step) it fetches the release's shared queue state, which is the
 * same for everyone and may come from a cache, and compares it with this browser's place.
 * The numbers are updated in place, and so is "sold out" (its text is in the page already): a
 * crowd told at once must not all reload at once. The page reloads when it needs the server:
 * when called (at once), after the opening's draw (to learn the drawn place; spread over three
 * poll intervals, as the place is not urgent), when the waiting room ends. Without JavaScript the page
 * refreshes itself.
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

  function soldOut(state) {
    var template = document.querySelector("template[data-sold-out]");
    if (!template) {
      window.location.reload();
      return;
    }
    queue.replaceChildren(template.content.cloneNode(true));
    var next = queue.querySelector("[data-next-release]");
    if (next && state.next_release) {
      var opens = new Date(state.next_release.opens_at).toLocaleString(document.documentElement.lang, {
        dateStyle: "full",
        timeStyle: "short",
      });
      next.textContent = next.dataset.text
        .replace("%(name)s", state.next_release.name)
        .replace("%(opens)s", opens);
    }
    var heading = queue.querySelector("h1");
    if (heading) {
      document.title = heading.textContent + " – " + document.title.split(" – ").pop();
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
        if (place !== null && place <= state.called_up_to) {
          window.location.reload();
          return;
        }
        if (state.status === "sold_out") {
          soldOut(state);
          return;
        }
        if (state.drawn !== drawn) {
          window.setTimeout(function () {
            window.location.reload();
          }, Math.random() * 3 * interval);
          return;
        }
        if (state.status !== status && state.status !== "open") {
          window.location.reload(); // the waiting room ended
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
