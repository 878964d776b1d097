import type { Metadata } from "next";
import Link from "next/link";
import { CreateOrgForm } from "@/components/orgs/create-org-form";
import { requirePageUser } from "@/server/page-session";

export const metadata: Metadata = { title: "New organization" };

export default async function NewOrgPage() {
  await requirePageUser("/orgs/new");
  return (
    <main className="flex min-h-screen flex-col items-center justify-center gap-8 px-4">
      <div className="text-2xl font-bold tracking-tight text-brand-700">Wire</div>
      <div className="w-full max-w-sm rounded-xl bg-white p-8 shadow-sm ring-1 ring-zinc-200">
        <h1 className="text-xl font-semibold">Create an organization</h1>
        <p className="mt-1 mb-6 text-sm text-zinc-500">You will be its Owner and can invite your team next.</p>
        <CreateOrgForm />
      </div>
      <Link href="/" className="text-sm text-zinc-500 hover:underline">
        Back
      </Link>
    </main>
  );
}
