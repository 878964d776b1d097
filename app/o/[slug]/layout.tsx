import type { ReactNode } from "react";
import { OrgProvider } from "@/components/orgs/org-context";
import { OrgShell } from "@/components/orgs/org-shell";
import { requirePageUser } from "@/server/page-session";
import { caller, getQueryClient, notFoundOnMissing, trpc } from "@/server/trpc/server";

export default async function OrgLayout({
  children,
  params,
}: {
  children: ReactNode;
  params: Promise<{ slug: string }>;
}) {
  const { slug } = await params;
  const user = await requirePageUser(`/o/${slug}`);
  const [org, orgs] = await Promise.all([
    // Through the request's query client, so the container layout's read of the same org is not a second query.
    getQueryClient().query(trpc.organizations.bySlug.queryOptions({ slug })).catch(notFoundOnMissing),
    caller.organizations.list(),
  ]);
  return (
    <OrgProvider org={org}>
      <OrgShell org={org} orgs={orgs} user={user}>
        {children}
      </OrgShell>
    </OrgProvider>
  );
}
