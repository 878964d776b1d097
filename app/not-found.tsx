import Link from "next/link";

export default function NotFound() {
  return (
    <main className="flex min-h-[60vh] flex-col items-center justify-center gap-3 px-4 text-center">
      <h1 className="text-xl font-semibold">Not found</h1>
      <p className="max-w-md text-sm text-zinc-500">
        This page does not exist, or you do not have access to it. Ask an Owner or Admin of the organization for access.
      </p>
      <Link href="/" className="text-sm font-medium text-brand-600 hover:underline">
        Go to your organizations
      </Link>
    </main>
  );
}
