import type { ReactNode } from "react";

export default function AuthLayout({ children }: { children: ReactNode }) {
  return (
    <main className="flex min-h-screen flex-col items-center justify-center gap-8 px-4">
      <div className="text-2xl font-bold tracking-tight text-brand-700">Wire</div>
      {children}
    </main>
  );
}
