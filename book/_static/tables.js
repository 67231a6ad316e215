// On a phone a table reads as cards, one per row (custom.css, under 600 px): each cell carries its
// column's header as a label, so a row stays readable without its header line.
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("article table")) {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => { cell.dataset.label = heads[i] || ""; });
    }
  }
});
