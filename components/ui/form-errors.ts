import { describeError } from "@/components/providers/trpc";

/** Splits a failed mutation into per-field messages and one message for the form as a whole. */
export function formErrors(
  error: unknown,
  fields: readonly string[],
): { field: (name: string) => string | null; form: string | null } {
  if (!error) return { field: () => null, form: null };
  const { message, field, fieldErrors } = describeError(error);
  const byField = (name: string) => fieldErrors[name]?.[0] ?? (field === name ? message : null);
  const anyField = fields.some((name) => byField(name));
  return { field: byField, form: anyField ? null : message };
}
