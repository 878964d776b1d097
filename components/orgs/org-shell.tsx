"use client";
import { Boxes, ChevronsUpDown, LogOut, Menu, Plug, Plus, Users, X } from "lucide-react";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { Dialog, DropdownMenu } from "radix-ui";
import { useState, type ReactNode } from "react";
import { authClient } from "@/components/auth/auth-client";
import { cn } from "@/components/ui/cn";
import type { RouterOutputs } from "@/components/providers/trpc";
import type { CurrentOrg } from "./org-context";

const NAV = [
  { href: "containers", label: "Containers", icon: Boxes },
  { href: "members", label: "Members", icon: Users },
  { href: "connectors", label: "Connectors", icon: Plug },
] as const;

const ROLE_LABEL = { owner: "Owner", admin: "Admin", member: "Member" } as const;

/**
 * The org's frame: a sidebar from the md breakpoint up; below it, a top bar whose Menu button opens the same
 * navigation in a drawer (a Radix dialog: focus moves in and is trapped, Escape and the close button return it
 * to the Menu button), so a phone gets the full width for the page.
 */
export function OrgShell({
  org,
  orgs,
  user,
  children,
}: {
  org: CurrentOrg;
  orgs: RouterOutputs["organizations"]["list"];
  user: RouterOutputs["me"];
  children: ReactNode;
}) {
  const [menuOpen, setMenuOpen] = useState(false);
  const sidebar = <Sidebar org={org} orgs={orgs} user={user} onNavigate={() => setMenuOpen(false)} />;
  return (
    <div className="min-h-screen md:flex">
      <aside className="hidden w-60 shrink-0 flex-col border-r border-zinc-200 bg-white md:flex">{sidebar}</aside>
      <Dialog.Root open={menuOpen} onOpenChange={setMenuOpen}>
        <header className="sticky top-0 z-30 flex items-center gap-2 border-b border-zinc-200 bg-white px-3 py-2 md:hidden">
          <Dialog.Trigger className="rounded-md p-2 text-zinc-700 hover:bg-zinc-100" aria-label="Open navigation menu">
            <Menu className="size-5" aria-hidden />
          </Dialog.Trigger>
          <span className="truncate text-sm font-semibold text-zinc-900">{org.name}</span>
        </header>
        <Dialog.Portal>
          <Dialog.Overlay className="fixed inset-0 z-40 bg-zinc-900/40 md:hidden" />
          <Dialog.Content
            className="fixed inset-y-0 left-0 z-50 flex w-72 max-w-[85vw] flex-col bg-white shadow-xl focus:outline-none md:hidden"
            aria-describedby={undefined}
          >
            <div className="flex items-center justify-between border-b border-zinc-200 px-3 py-2">
              <Dialog.Title className="text-sm font-semibold text-zinc-900">Navigation</Dialog.Title>
              <Dialog.Close
                className="rounded-md p-2 text-zinc-500 hover:bg-zinc-100"
                aria-label="Close navigation menu"
              >
                <X className="size-5" aria-hidden />
              </Dialog.Close>
            </div>
            {sidebar}
          </Dialog.Content>
        </Dialog.Portal>
      </Dialog.Root>
      <main className="min-w-0 flex-1 px-4 py-6 sm:px-8 sm:py-8">{children}</main>
    </div>
  );
}

function Sidebar({
  org,
  orgs,
  user,
  onNavigate,
}: {
  org: CurrentOrg;
  orgs: RouterOutputs["organizations"]["list"];
  user: RouterOutputs["me"];
  onNavigate: () => void;
}) {
  const pathname = usePathname();
  const router = useRouter();

  async function signOut() {
    await authClient.signOut();
    router.replace("/sign-in");
    router.refresh();
  }

  return (
    <>
      <div className="p-3">
        <DropdownMenu.Root>
          <DropdownMenu.Trigger
            className="flex w-full items-center justify-between rounded-md px-2 py-2 text-left hover:bg-zinc-100"
            aria-label="Switch organization"
          >
            <span>
              <span className="block text-sm font-semibold text-zinc-900">{org.name}</span>
              <span className="block text-xs text-zinc-500">{ROLE_LABEL[org.role]}</span>
            </span>
            <ChevronsUpDown className="size-4 text-zinc-400" aria-hidden />
          </DropdownMenu.Trigger>
          <DropdownMenu.Portal>
            <DropdownMenu.Content
              align="start"
              sideOffset={4}
              className="z-50 min-w-52 rounded-md bg-white p-1 shadow-lg ring-1 ring-zinc-200"
            >
              {orgs.map((o) => (
                <DropdownMenu.Item key={o.slug} asChild>
                  <Link
                    href={`/o/${o.slug}/containers`}
                    className="block rounded px-2 py-1.5 text-sm outline-none data-highlighted:bg-zinc-100"
                  >
                    {o.name}
                  </Link>
                </DropdownMenu.Item>
              ))}
              <DropdownMenu.Separator className="my-1 h-px bg-zinc-200" />
              <DropdownMenu.Item asChild>
                <Link
                  href="/orgs/new"
                  className="flex items-center gap-2 rounded px-2 py-1.5 text-sm outline-none data-highlighted:bg-zinc-100"
                >
                  <Plus className="size-4" aria-hidden /> New organization
                </Link>
              </DropdownMenu.Item>
            </DropdownMenu.Content>
          </DropdownMenu.Portal>
        </DropdownMenu.Root>
      </div>
      <nav aria-label="Organization" className="flex-1 space-y-0.5 px-3">
        {NAV.map(({ href, label, icon: Icon }) => {
          const target = `/o/${org.slug}/${href}`;
          const active = pathname === target || pathname.startsWith(`${target}/`);
          return (
            <Link
              key={href}
              href={target}
              onClick={onNavigate}
              aria-current={active ? "page" : undefined}
              className={cn(
                "flex items-center gap-2 rounded-md px-2 py-2 text-sm font-medium",
                active ? "bg-brand-50 text-brand-700" : "text-zinc-700 hover:bg-zinc-100",
              )}
            >
              <Icon className="size-4" aria-hidden />
              {label}
            </Link>
          );
        })}
      </nav>
      <div className="border-t border-zinc-200 p-3">
        <div className="px-2 text-sm font-medium text-zinc-900">{user.name}</div>
        <div className="truncate px-2 text-xs text-zinc-500">{user.email}</div>
        <button
          type="button"
          onClick={() => void signOut()}
          className="mt-2 flex w-full items-center gap-2 rounded-md px-2 py-1.5 text-sm text-zinc-700 hover:bg-zinc-100"
        >
          <LogOut className="size-4" aria-hidden /> Sign out
        </button>
      </div>
    </>
  );
}
