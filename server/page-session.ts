import "server-only";
import { redirect } from "next/navigation";
import type { SessionUser } from "./auth";
import { roleCan, type OrgPermission } from "./permissions";
import { caller, notFoundOnMissing, serverContext } from "./trpc/server";

/** For server-rendered pages: the signed-in user, or a redirect to sign-in that comes back here. */
export async function requirePageUser(returnTo: string): Promise<SessionUser> {
  const user = await currentPageUser();
  if (!user) redirect(`/sign-in?next=${encodeURIComponent(returnTo)}`);
  return user;
}

/** The request's tRPC context has the session already: pages and their reads look it up once. */
export async function currentPageUser(): Promise<SessionUser | null> {
  return (await serverContext()).user;
}

/** For pages only some roles may open: others are sent back to `fallback` (the org's page they can use). */
export async function requireOrgPagePermission(
  slug: string,
  permission: OrgPermission,
  fallback = `/o/${slug}/connectors`,
) {
  const user = await requirePageUser(`/o/${slug}`);
  const org = await caller.organizations.bySlug({ slug }).catch(notFoundOnMissing);
  if (!roleCan(org.role, permission)) redirect(fallback);
  return { user, org };
}
