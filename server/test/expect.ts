/** Assertions for the typed errors services throw (AppError) and the API answers with (TRPCError). */
import { TRPCError } from "@trpc/server";
import { expect } from "vitest";
import { AppError, type AppErrorCode } from "@/server/errors";

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`Expected the call to fail, but it succeeded with ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

/** The promise rejects with an AppError of exactly `code`; returns the error. */
export async function expectAppError(promise: Promise<unknown>, code: AppErrorCode): Promise<AppError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code, (error as Error).message).toBe(code);
  return error as AppError;
}

/** The promise rejects with a TRPCError of exactly `code`; returns the error. */
export async function expectTRPCError(promise: Promise<unknown>, code: TRPCError["code"]): Promise<TRPCError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(TRPCError);
  expect((error as TRPCError).code, (error as Error).message).toBe(code);
  return error as TRPCError;
}
