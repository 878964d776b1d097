"use client";
import { createContext, useContext, type ReactNode } from "react";
import type { RouterOutputs } from "@/components/providers/trpc";

/** The org the layout read through organizations.bySlug, with the caller's role in it. */
export type CurrentOrg = RouterOutputs["organizations"]["bySlug"];

const OrgContext = createContext<CurrentOrg | null>(null);

export function OrgProvider({ org, children }: { org: CurrentOrg; children: ReactNode }) {
  return <OrgContext.Provider value={org}>{children}</OrgContext.Provider>;
}

/** The organization of the current page (set by the org layout). */
export function useOrg(): CurrentOrg {
  const org = useContext(OrgContext);
  if (!org) throw new Error("useOrg must be used inside the org layout");
  return org;
}
