import "server-only";
import pino from "pino";
import { env } from "./env";

/**
 * Structured JSON logs. Anything that could carry a secret is redacted by path as a second line of
 * defence; the first is never passing secrets to the logger at all.
 */
export const logger = pino({
  // Tests are quiet unless LOG_LEVEL asks otherwise.
  level: env().NODE_ENV === "test" && !process.env.LOG_LEVEL ? "silent" : env().LOG_LEVEL,
  base: { app: "wire" },
  redact: {
    paths: [
      "password",
      "*.password",
      "token",
      "*.token",
      "secret",
      "*.secret",
      "*.secretAccessKey",
      "*.sessionToken",
      "headers.authorization",
      "headers.cookie",
      "*.headers.authorization",
      "*.headers.cookie",
    ],
    censor: "[redacted]",
  },
});

export type Logger = typeof logger;
