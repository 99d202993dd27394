// Send one mail through nodemailer's SMTP transport into sesame's submission
// listener: STARTTLS required (the server's certificate, SMTP_CA, is the only
// trusted CA, checked for the name "localhost"), then AUTH with the key's SES
// SMTP credentials. MAIL_ARN, when set, names the owner's identity in the
// X-SES-SOURCE-ARN and X-SES-FROM-ARN headers (a delegated send). Prints the
// transport's info as JSON.
import { readFileSync } from "node:fs";
import nodemailer from "nodemailer";

const env = process.env;
const transport = nodemailer.createTransport({
	host: "127.0.0.1",
	port: Number(env.SMTP_PORT),
	secure: false,
	requireTLS: true,
	auth: { user: env.SMTP_USER, pass: env.SMTP_PASS },
	tls: { ca: [readFileSync(env.SMTP_CA)], servername: "localhost" },
	connectionTimeout: 10000,
	socketTimeout: 10000,
});
const headers = env.MAIL_ARN ? { "X-SES-SOURCE-ARN": env.MAIL_ARN, "X-SES-FROM-ARN": env.MAIL_ARN } : {};
try {
	const info = await transport.sendMail({
		from: env.MAIL_FROM,
		to: env.MAIL_TO,
		subject: "hello from nodemailer smtp",
		text: "sent through SMTP submission",
		headers,
	});
	console.log(JSON.stringify({ ok: true, messageId: info.messageId, response: info.response }));
} catch (err) {
	console.log(JSON.stringify({ ok: false, code: err.code, responseCode: err.responseCode, message: err.message }));
}
