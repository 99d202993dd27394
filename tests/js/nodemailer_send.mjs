// Send one mail through nodemailer's SES transport (SESv2 SendEmailCommand,
// Content.Raw) into sesame. Endpoint, key and addresses come from the
// environment; prints the transport's info as JSON.
import nodemailer from "nodemailer";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";

const env = process.env;
const sesClient = new SESv2Client({
	region: "us-east-1",
	endpoint: env.SESAME_ENDPOINT,
	credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
	maxAttempts: 1,
});
const transport = nodemailer.createTransport({ SES: { sesClient, SendEmailCommand } });
try {
	const info = await transport.sendMail({
		from: env.MAIL_FROM,
		to: env.MAIL_TO,
		subject: "hello from nodemailer",
		text: "sent through SESv2",
		ses: env.MAIL_ARN ? { FromEmailAddressIdentityArn: env.MAIL_ARN } : undefined,
	});
	console.log(JSON.stringify({ ok: true, messageId: info.messageId, response: info.response }));
} catch (err) {
	console.log(JSON.stringify({ ok: false, name: err.name, message: err.message }));
}
