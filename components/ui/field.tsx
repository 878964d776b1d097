import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";
import { cn } from "./cn";

const control =
  "block w-full rounded-md border-0 bg-white px-3 py-2 text-sm text-zinc-900 ring-1 ring-inset ring-zinc-300 placeholder:text-zinc-400 focus:ring-2 focus:ring-brand-500 focus:outline-none aria-[invalid=true]:ring-red-500";

interface FieldProps {
  label: string;
  error?: string | null;
  hint?: ReactNode;
}

/** A labelled control whose error is announced and tied to it with aria-describedby. */
function useFieldIds(error?: string | null, hint?: ReactNode) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [error ? errorId : null, hint ? hintId : null].filter(Boolean).join(" ") || undefined;
  return { id, errorId, hintId, describedBy };
}

function FieldFooter({ error, hint, errorId, hintId }: FieldProps & { errorId: string; hintId: string }) {
  return (
    <>
      {hint && !error && (
        <p id={hintId} className="mt-1 text-xs text-zinc-500">
          {hint}
        </p>
      )}
      {error && (
        <p id={errorId} role="alert" className="mt-1 text-xs text-red-600">
          {error}
        </p>
      )}
    </>
  );
}

export function TextField({
  label,
  error,
  hint,
  className,
  ...props
}: FieldProps & InputHTMLAttributes<HTMLInputElement>) {
  const ids = useFieldIds(error, hint);
  return (
    <div className={className}>
      <label htmlFor={ids.id} className="mb-1 block text-sm font-medium text-zinc-700">
        {label}
      </label>
      <input
        id={ids.id}
        aria-invalid={error ? true : undefined}
        aria-describedby={ids.describedBy}
        className={control}
        {...props}
      />
      <FieldFooter error={error} hint={hint} label={label} errorId={ids.errorId} hintId={ids.hintId} />
    </div>
  );
}

export function SelectField({
  label,
  error,
  hint,
  className,
  children,
  ...props
}: FieldProps & SelectHTMLAttributes<HTMLSelectElement>) {
  const ids = useFieldIds(error, hint);
  return (
    <div className={className}>
      <label htmlFor={ids.id} className="mb-1 block text-sm font-medium text-zinc-700">
        {label}
      </label>
      <select
        id={ids.id}
        aria-invalid={error ? true : undefined}
        aria-describedby={ids.describedBy}
        className={cn(control, "pr-8")}
        {...props}
      >
        {children}
      </select>
      <FieldFooter error={error} hint={hint} label={label} errorId={ids.errorId} hintId={ids.hintId} />
    </div>
  );
}

export const controlClass = control;
