import "server-only";
import { headers } from "next/headers";
import { notFound, redirect } from "next/navigation";
import { getDb } from "@/db/client";
import { getSessionUser, type SessionUser } from "./auth";
import { roleCan, type OrgPermission } from "./permissions";
import { getOrganizationBySlug } from "./services/organizations";

/** For server-rendered pages: the signed-in user, or a redirect to sign-in that comes back here. */
export async function requirePageUser(returnTo: string): Promise<SessionUser> {
  const user = await getSessionUser(await headers());
  if (!user) redirect(`/sign-in?next=${encodeURIComponent(returnTo)}`);
  return user;
}

export async function currentPageUser(): Promise<SessionUser | null> {
  return getSessionUser(await headers());
}

/** For pages only some roles may open: others are sent back to `fallback` (the org's page they can use). */
export async function requireOrgPagePermission(slug: string, permission: OrgPermission, fallback = `/o/${slug}/connectors`) {
  const user = await requirePageUser(`/o/${slug}`);
  const org = await getOrganizationBySlug(getDb(), { slug, userId: user.id }).catch(() => notFound());
  if (!roleCan(org.role, permission)) redirect(fallback);
  return { user, org };
}
