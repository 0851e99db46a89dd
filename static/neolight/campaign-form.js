// The campaign start form: when the start date changes, tick exactly the symbols whose bars span it.
(function () {
  const spans = document.getElementById("campaign-symbol-spans");
  const date = document.getElementById("id_start_date");
  if (!spans || !date) return;
  const bySymbol = JSON.parse(spans.textContent);
  date.addEventListener("change", () => {
    if (!date.value) return;
    for (const box of document.querySelectorAll('input[name="symbols"]')) {
      const span = bySymbol[box.value];
      box.checked = Boolean(span) && span[0] <= date.value && date.value <= span[1];
    }
  });
})();
