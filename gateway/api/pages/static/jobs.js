// Live progress of a verification job: server-sent `progress` events update the bar and append to the update log.
(function () {
  "use strict";
  var section = document.getElementById("progress");
  if (!section || section.dataset.state !== "running" || !window.EventSource) {
    return;
  }
  var bar = document.getElementById("bar");
  var count = document.getElementById("count");
  var state = document.getElementById("state");
  var updates = document.getElementById("updates");
  var source = new EventSource(section.dataset.events);
  source.addEventListener("progress", function (event) {
    var p = JSON.parse(event.data);
    bar.max = Math.max(p.entries, 1);
    bar.value = p.done;
    bar.textContent = String(p.done);
    count.textContent = p.done + " of " + p.entries;
    state.textContent = p.state;
    var item = document.createElement("li");
    item.textContent = p.done + " of " + p.entries + " verified (" + p.state + ")";
    item.dataset.done = String(p.done);
    updates.appendChild(item);
  });
  source.addEventListener("end", function () {
    source.close();
    document.getElementById("reload").hidden = false;
  });
  source.onerror = function () {
    source.close();
  };
})();
