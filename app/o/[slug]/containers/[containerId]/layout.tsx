import { ChevronLeft } from "lucide-react";
import Link from "next/link";
import { notFound } from "next/navigation";
import type { ReactNode } from "react";
import { ContainerTabs } from "@/components/containers/container-tabs";
import { isUuid } from "@/server/ids";
import { requirePageUser } from "@/server/page-session";
import { getQueryClient, HydrateClient, notFoundOnMissing, trpc } from "@/server/trpc/server";

export default async function ContainerLayout({
  children,
  params,
}: {
  children: ReactNode;
  params: Promise<{ slug: string; containerId: string }>;
}) {
  const { slug, containerId } = await params;
  const base = `/o/${slug}/containers/${containerId}`;
  await requirePageUser(base);
  if (!isUuid(containerId)) notFound();
  const queryClient = getQueryClient();
  // containers.get is the access check (view, else not found); the tabs' pages read it from the hydrated cache.
  const [org, container] = await Promise.all([
    queryClient.query(trpc.organizations.bySlug.queryOptions({ slug })),
    queryClient.query(trpc.containers.get.queryOptions({ containerId })),
  ]).catch(notFoundOnMissing);
  // A container is only shown under its own organization's address.
  if (container.orgId !== org.id) notFound();
  return (
    <HydrateClient>
      <div>
        <Link
          href={`/o/${slug}/containers`}
          className="mb-3 inline-flex items-center gap-1 text-sm text-zinc-500 hover:text-zinc-800"
        >
          <ChevronLeft className="size-4" aria-hidden /> Containers
        </Link>
        <h1 className="text-xl font-semibold text-zinc-900">{container.name}</h1>
        {container.description && <p className="mt-1 text-sm text-zinc-500">{container.description}</p>}
        <div className="mt-5">
          <ContainerTabs base={base} />
        </div>
        {children}
      </div>
    </HydrateClient>
  );
}
