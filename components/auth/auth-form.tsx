"use client";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useState, type SubmitEvent } from "react";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { TextField } from "@/components/ui/field";
import { authClient } from "./auth-client";
import { formText } from "@/components/ui/form-data";

/** Only same-site paths are followed after sign-in, never another origin. */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
}

export function AuthForm({ mode }: { mode: "sign-in" | "sign-up" }) {
  const router = useRouter();
  const next = safeNext(useSearchParams().get("next"));
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = formText(form, "email").trim();
    const password = formText(form, "password");
    setPending(true);
    setError(null);
    const result =
      mode === "sign-up"
        ? await authClient.signUp.email({ email, password, name: formText(form, "name").trim() || email })
        : await authClient.signIn.email({ email, password });
    if (result.error) {
      setPending(false);
      setError(result.error.message ?? "That did not work. Please try again.");
      return;
    }
    router.replace(next);
    router.refresh();
  }

  const signUp = mode === "sign-up";
  const other = `${signUp ? "/sign-in" : "/sign-up"}${next !== "/" ? `?next=${encodeURIComponent(next)}` : ""}`;
  return (
    <div className="w-full max-w-sm rounded-xl bg-white p-8 shadow-sm ring-1 ring-zinc-200">
      <h1 className="text-xl font-semibold">{signUp ? "Create your Wire account" : "Sign in to Wire"}</h1>
      <form onSubmit={(event) => void onSubmit(event)} className="mt-6 space-y-4" noValidate={false}>
        {error && <Alert>{error}</Alert>}
        {signUp && <TextField label="Name" name="name" autoComplete="name" required maxLength={100} />}
        <TextField label="Email" name="email" type="email" autoComplete="email" required />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete={signUp ? "new-password" : "current-password"}
          required
          minLength={signUp ? 8 : undefined}
          hint={signUp ? "At least 8 characters." : undefined}
        />
        <Button type="submit" pending={pending} className="w-full">
          {signUp ? "Create account" : "Sign in"}
        </Button>
      </form>
      <p className="mt-6 text-center text-sm text-zinc-500">
        {signUp ? "Already have an account? " : "New to Wire? "}
        <Link href={other} className="font-medium text-brand-600 hover:underline">
          {signUp ? "Sign in" : "Create an account"}
        </Link>
      </p>
    </div>
  );
}
