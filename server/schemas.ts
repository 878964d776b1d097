/** Input shapes shared by the API and the forms that call it (pure zod: safe to import in the browser). */
import { z } from "zod";
import { ORG_ROLES } from "./permissions";

export const orgNameSchema = z.string().trim().min(2, "Use at least 2 characters.").max(80, "Use at most 80 characters.");
export const containerNameSchema = z.string().trim().min(1, "A name is required.").max(120, "Use at most 120 characters.");
export const containerDescriptionSchema = z.string().trim().max(500, "Use at most 500 characters.").default("");
export const emailSchema = z.email("Enter a valid email address.").trim().toLowerCase();
export const roleSchema = z.enum(ORG_ROLES);
export const grantLevelSchema = z.enum(["view", "edit"]);
export const tokenNameSchema = z.string().trim().min(1, "A name is required.").max(80, "Use at most 80 characters.");
export const FILES_PAGE_SIZES = [10, 25, 50, 100] as const;
/** Files list orderings (the Files table's sortable headers); "updated" is the default, newest first. */
export const FILE_SORT_KEYS = ["name", "size", "origin", "updated"] as const;
export type FileSortKey = (typeof FILE_SORT_KEYS)[number];
export const fileSortSchema = z
  .object({ by: z.enum(FILE_SORT_KEYS), dir: z.enum(["asc", "desc"]) })
  .default({ by: "updated", dir: "desc" });
