/** Input shapes shared by the API and the forms that call it (pure zod: safe to import in the browser). */
import { z } from "zod";
import { ORG_ROLES } from "./permissions";

/*
 * The one input rule for free text. Control characters (NUL above all: PostgreSQL refuses it in text and
 * would answer with a 500) are refused with a field error; multi-line text keeps tab and line breaks.
 * Names also refuse bidirectional controls, which can make "invoice‮fdp.exe" display as "invoiceexe.pdf".
 */
// eslint-disable-next-line no-control-regex -- these match control characters on purpose, to refuse them
const LINE_CONTROLS = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex -- as above, keeping tab and line breaks
const TEXT_CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Why `text` breaks the free-text rule, or null. `kind`: a name (one line, no bidi controls), a line, or multi-line text. */
export function textProblem(text: string, kind: "name" | "line" | "text"): string | null {
  if ((kind === "text" ? TEXT_CONTROLS : LINE_CONTROLS).test(text)) {
    return kind === "text"
      ? "Remove the control characters (only tabs and line breaks are allowed)."
      : "Remove the control characters (a line break, tab or NUL?).";
  }
  if (kind === "name" && BIDI_CONTROLS.test(text)) return "Remove the text-direction control characters.";
  return null;
}

/** A string schema with the free-text rule applied (checked before trim, so no control character slips through). */
export function freeText(kind: "name" | "line" | "text" = "name") {
  return z.string().superRefine((text, ctx) => {
    const problem = textProblem(text, kind);
    if (problem) ctx.addIssue({ code: "custom", message: problem, abort: true });
  });
}

export const orgNameSchema = freeText()
  .trim()
  .min(2, "Use at least 2 characters.")
  .max(80, "Use at most 80 characters.");
export const containerNameSchema = freeText()
  .trim()
  .min(1, "A name is required.")
  .max(120, "Use at most 120 characters.");
export const containerDescriptionSchema = freeText("text").trim().max(500, "Use at most 500 characters.").default("");
export const emailSchema = z.email("Enter a valid email address.").trim().toLowerCase();
export const roleSchema = z.enum(ORG_ROLES);
export const grantLevelSchema = z.enum(["view", "edit"]);
export const tokenNameSchema = freeText().trim().min(1, "A name is required.").max(80, "Use at most 80 characters.");
export const FILES_PAGE_SIZES = [10, 25, 50, 100] as const;
/** Files list orderings (the Files table's sortable headers); "updated" is the default, newest first. */
export const FILE_SORT_KEYS = ["name", "size", "origin", "updated"] as const;
export type FileSortKey = (typeof FILE_SORT_KEYS)[number];
export const fileSortSchema = z
  .object({ by: z.enum(FILE_SORT_KEYS), dir: z.enum(["asc", "desc"]) })
  .default({ by: "updated", dir: "desc" });
export const connectorLabelSchema = freeText()
  .trim()
  .min(1, "A label is required.")
  .max(80, "Use at most 80 characters.");
export const fileSearchSchema = freeText("line").max(200, "Use at most 200 characters.");
/** Ids that are not UUIDs (better-auth user ids, slugs): one line, bounded. */
export const userIdSchema = freeText("line").min(1).max(128);
export const slugSchema = freeText("line").min(1).max(64);
