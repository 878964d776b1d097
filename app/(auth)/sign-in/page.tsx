import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { Suspense } from "react";
import { AuthForm } from "@/components/auth/auth-form";
import { currentPageUser } from "@/server/page-session";

export const metadata: Metadata = { title: "Sign in" };

export default async function Page() {
  if (await currentPageUser()) redirect("/");
  return (
    <Suspense>
      <AuthForm mode="sign-in" />
    </Suspense>
  );
}
