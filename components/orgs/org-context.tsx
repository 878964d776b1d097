"use client";
import { createContext, useContext, type ReactNode } from "react";
import type { OrgRole } from "@/server/permissions";

export interface CurrentOrg {
  id: string;
  slug: string;
  name: string;
  role: OrgRole;
}

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
