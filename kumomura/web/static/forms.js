// What staff pages ask of the browser, by data attributes: the pages' content policy
// runs no inline script.
document.addEventListener("change", (event) => {
  const field = event.target.closest("[data-autosubmit]");
  if (field && field.form) field.form.submit();
});
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-open]");
  if (!form) return;
  event.preventDefault();
  const value = encodeURIComponent(form.elements[form.dataset.field].value);
  location.href = form.dataset.open.replace("{}", value);
});
