/** A text field's value from a form's FormData; "" when the form has no such field (or it is a file input). */
export function formText(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}
