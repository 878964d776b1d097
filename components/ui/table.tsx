import type { ReactNode } from "react";
import { cn } from "./cn";

export type Column = string | { label: string; hidden: true };

/** A labelled data table with the house header style; rows are the caller's <tr> elements. */
export function DataTable({
  label,
  columns,
  children,
  dense = false,
  footer,
}: {
  label?: string;
  columns: Column[];
  children: ReactNode;
  dense?: boolean;
  footer?: ReactNode;
}) {
  const cell = dense ? "px-3 py-2" : "px-4 py-2.5";
  return (
    <div className={cn("overflow-x-auto bg-white", dense ? "rounded-md ring-1 ring-zinc-200" : "rounded-lg ring-1 ring-zinc-200")}>
      <table className={cn("min-w-full divide-y divide-zinc-200", dense ? "text-xs" : "text-sm")} aria-label={label}>
        <thead className="bg-zinc-50 text-left text-xs font-medium tracking-wide text-zinc-500 uppercase">
          <tr>
            {columns.map((column) =>
              typeof column === "string" ? (
                <th key={column} scope="col" className={cell}>
                  {column}
                </th>
              ) : (
                <th key={column.label} scope="col" className={cell}>
                  <span className="sr-only">{column.label}</span>
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100">{children}</tbody>
      </table>
      {footer}
    </div>
  );
}
