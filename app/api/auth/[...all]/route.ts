import { toNextJsHandler } from "better-auth/next-js";
import { getAuth } from "@/server/auth";
import { withClientAddress } from "@/server/client-address";

export function GET(request: Request) {
  return toNextJsHandler(getAuth()).GET(withClientAddress(request));
}

export function POST(request: Request) {
  return toNextJsHandler(getAuth()).POST(withClientAddress(request));
}
