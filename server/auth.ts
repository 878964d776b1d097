import "server-only";
import { betterAuth } from "better-auth";
import { drizzleAdapter } from "better-auth/adapters/drizzle";
import { APIError } from "better-auth/api";
import { nextCookies } from "better-auth/next-js";
import { getDb } from "@/db/client";
import { accounts, sessions, users, verifications } from "@/db/schema";
import { CLIENT_HEADER } from "./client-address";
import { env } from "./env";
import { readOrCreateSecret } from "./local-secrets";
import { logger } from "./logger";
import { textProblem } from "./schemas";

function createAuth() {
  const config = env();
  return betterAuth({
    appName: "Wire",
    baseURL: config.WIRE_PUBLIC_URL,
    secret: config.BETTER_AUTH_SECRET ?? readOrCreateSecret(config.dataDir, "auth-secret"),
    database: drizzleAdapter(getDb(), {
      provider: "pg",
      schema: { user: users, session: sessions, account: accounts, verification: verifications },
    }),
    emailAndPassword: { enabled: true, minPasswordLength: 8, maxPasswordLength: 128, autoSignIn: true },
    rateLimit: { enabled: config.WIRE_AUTH_RATE_LIMIT === "on" },
    // The auth route puts the address it resolved (socket peer, or X-Forwarded-For from trusted proxies only)
    // in this header; better-auth keys rate limits on it and stores it on sessions.
    advanced: { ipAddress: { ipAddressHeaders: [CLIENT_HEADER] } },
    databaseHooks: {
      user: {
        create: {
          // The free-text rule of every other input (server/schemas.ts) applies to people's names too.
          before: (user) => {
            const problem = textProblem(user.name, "name");
            return problem
              ? Promise.reject(new APIError("BAD_REQUEST", { message: `Name: ${problem}` }))
              : Promise.resolve();
          },
        },
      },
    },
    logger: {
      log: (level, message) => logger[level]({ component: "auth" }, message),
    },
    plugins: [nextCookies()],
  });
}

type Auth = ReturnType<typeof createAuth>;
const holder = globalThis as unknown as { __wireAuth?: Auth };

/** Created on first use so that building the app never touches the database or secrets. */
export function getAuth(): Auth {
  holder.__wireAuth ??= createAuth();
  return holder.__wireAuth;
}

export interface SessionUser {
  id: string;
  email: string;
  name: string;
}

export async function getSessionUser(headers: Headers): Promise<SessionUser | null> {
  const session = await getAuth().api.getSession({ headers });
  if (!session) return null;
  return { id: session.user.id, email: session.user.email, name: session.user.name };
}
