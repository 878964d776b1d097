/**
 * Outgoing mail. With WIRE_SMTP_URL it goes out through SMTP (nodemailer); by default it is kept in a local
 * outbox, WIRE_DATA_DIR/outbox (one .eml file per message, private to the app's user) and a log line naming
 * the file, so the embedded defaults work with no mail server and an operator can still read what was sent.
 */
import "server-only";
import { randomUUID } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import nodemailer from "nodemailer";
import { env } from "./env";
import { logger } from "./logger";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

export class LocalOutbox implements Mailer {
  constructor(
    readonly dir: string,
    private readonly from: string,
  ) {}

  async send(message: MailMessage): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, `${new Date().toISOString().replace(/[:.]/g, "-")}-${randomUUID()}.eml`);
    const eml = [
      `From: ${this.from}`,
      `To: ${message.to}`,
      `Subject: ${message.subject}`,
      `Date: ${new Date().toUTCString()}`,
      "Content-Type: text/plain; charset=utf-8",
      "",
      message.text,
      "",
    ].join("\r\n");
    await fs.writeFile(file, eml, { mode: 0o600 });
    // The body (it may hold a link that grants access) stays in the file, not in the logs.
    logger.info(
      { to: message.to, subject: message.subject, file },
      "mail kept in the local outbox (no WIRE_SMTP_URL configured)",
    );
  }
}

class SmtpMailer implements Mailer {
  private readonly transport;
  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport(url);
  }

  async send(message: MailMessage): Promise<void> {
    await this.transport.sendMail({ from: this.from, to: message.to, subject: message.subject, text: message.text });
  }
}

let instance: Mailer | undefined;

export function mailer(): Mailer {
  const config = env();
  instance ??= config.WIRE_SMTP_URL
    ? new SmtpMailer(config.WIRE_SMTP_URL, config.WIRE_MAIL_FROM)
    : new LocalOutbox(path.join(config.dataDir, "outbox"), config.WIRE_MAIL_FROM);
  return instance;
}
