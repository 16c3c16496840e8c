// Fold every code cell that holds a solution into a collapsed "Solution" block,
// so a reader can try first. Runs on every page load (Material's instant
// navigation included). Nothing is fetched from anywhere.
function foldSolutions() {
  document.querySelectorAll(".jp-Cell.jp-CodeCell").forEach(function (cell) {
    if (cell.dataset.folded || cell.closest("details.course-solution")) return;
    var source = cell.querySelector(".jp-InputArea");
    if (!source || source.textContent.indexOf("### BEGIN SOLUTION") === -1) return;
    cell.dataset.folded = "yes";
    var details = document.createElement("details");
    details.className = "course-solution";
    var summary = document.createElement("summary");
    summary.textContent = "Solution (try it first)";
    details.appendChild(summary);
    cell.parentNode.insertBefore(details, cell);
    details.appendChild(cell);
  });
}
if (typeof document$ !== "undefined") {
  document$.subscribe(foldSolutions);
} else {
  document.addEventListener("DOMContentLoaded", foldSolutions);
}
