// Advanced launch: when the UTC window changes, tick every symbol whose bars reach into it.
(function () {
  const spans = JSON.parse(document.getElementById("symbol-spans").textContent);
  const start = document.getElementById("id_start");
  const end = document.getElementById("id_end");
  if (!start || !end) return;
  function retick() {
    if (!start.value || !end.value || end.value <= start.value) return;
    // Values are "YYYY-MM-DDTHH:MM" in UTC on both sides, so they compare as text.
    document.querySelectorAll("input[name=symbols]").forEach(function (box) {
      const span = spans[box.value];
      box.checked = Boolean(span) && span[0] < end.value && span[1] >= start.value;
    });
  }
  start.addEventListener("change", retick);
  end.addEventListener("change", retick);
})();
