import type { ReactNode } from "react";
import { cn } from "./cn";

/**
 * A column header: a plain label, or a label that is read to screen readers only (`hidden`), with optional
 * classes for the header cell (e.g. "hidden lg:table-cell" to drop a secondary column on narrow screens; the
 * row's cell takes the same class) and optional content replacing the label (e.g. a sort button).
 */
export type Column =
  | string
  | {
      label: string;
      hidden?: true;
      className?: string;
      content?: ReactNode;
      ariaSort?: "ascending" | "descending" | "none";
    };

/**
 * A labelled data table with the house header style; rows are the caller's <tr> elements.
 * Wide tables scroll inside their own box, never the page: the box is keyboard-focusable so it can be
 * scrolled without a mouse, and `stickyLastColumn` keeps a row's actions in view while the rest scrolls.
 */
export function DataTable({
  label,
  columns,
  children,
  dense = false,
  footer,
  stickyLastColumn = false,
}: {
  label?: string;
  columns: Column[];
  children: ReactNode;
  dense?: boolean;
  footer?: ReactNode;
  stickyLastColumn?: boolean;
}) {
  const cell = dense ? "px-3 py-2" : "px-4 py-2.5";
  return (
    <div
      className={cn(
        "max-w-full bg-white",
        dense ? "rounded-md ring-1 ring-zinc-200" : "rounded-lg ring-1 ring-zinc-200",
      )}
    >
      <div
        className="overflow-x-auto"
        tabIndex={0}
        role="group"
        aria-label={label ? `${label} (scrollable)` : undefined}
        data-testid="table-scroll"
      >
        <table
          className={cn(
            "min-w-full divide-y divide-zinc-200",
            dense ? "text-xs" : "text-sm",
            stickyLastColumn && "sticky-last",
          )}
          aria-label={label}
        >
          <thead className="bg-zinc-50 text-left text-xs font-medium tracking-wide text-zinc-500 uppercase">
            <tr>
              {columns.map((column) =>
                typeof column === "string" ? (
                  <th key={column} scope="col" className={cell}>
                    {column}
                  </th>
                ) : (
                  <th key={column.label} scope="col" className={cn(cell, column.className)} aria-sort={column.ariaSort}>
                    {column.content ?? (column.hidden ? <span className="sr-only">{column.label}</span> : column.label)}
                  </th>
                ),
              )}
            </tr>
          </thead>
          <tbody className="divide-y divide-zinc-100">{children}</tbody>
        </table>
      </div>
      {footer}
    </div>
  );
}
