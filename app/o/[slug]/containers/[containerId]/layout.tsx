import { ChevronLeft } from "lucide-react";
import Link from "next/link";
import { notFound } from "next/navigation";
import type { ReactNode } from "react";
import { getDb } from "@/db/client";
import { ContainerTabs } from "@/components/containers/container-tabs";
import { AppError } from "@/server/errors";
import { requirePageUser } from "@/server/page-session";
import { requireContainerLevel } from "@/server/services/authorization";
import { getContainer } from "@/server/services/containers";
import { getOrganizationBySlug } from "@/server/services/organizations";
import { isUuid } from "@/server/ids";

export default async function ContainerLayout({
  children,
  params,
}: {
  children: ReactNode;
  params: Promise<{ slug: string; containerId: string }>;
}) {
  const { slug, containerId } = await params;
  const base = `/o/${slug}/containers/${containerId}`;
  const user = await requirePageUser(base);
  if (!isUuid(containerId)) notFound();
  const db = getDb();
  const [org, container] = await Promise.all([
    getOrganizationBySlug(db, { slug, userId: user.id }),
    requireContainerLevel(db, { containerId, userId: user.id, need: "view" }).then(() => getContainer(db, containerId)),
  ]).catch((error: unknown) => {
    if (error instanceof AppError && error.code === "NOT_FOUND") notFound();
    throw error;
  });
  // A container is only shown under its own organization's address.
  if (container.orgId !== org.id) notFound();
  return (
    <div>
      <Link href={`/o/${slug}/containers`} className="mb-3 inline-flex items-center gap-1 text-sm text-zinc-500 hover:text-zinc-800">
        <ChevronLeft className="size-4" aria-hidden /> Containers
      </Link>
      <h1 className="text-xl font-semibold text-zinc-900">{container.name}</h1>
      {container.description && <p className="mt-1 text-sm text-zinc-500">{container.description}</p>}
      <div className="mt-5">
        <ContainerTabs base={base} />
      </div>
      {children}
    </div>
  );
}
