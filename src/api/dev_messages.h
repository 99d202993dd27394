/*
 * dev_messages.h — the capture inbox on the API listener (DESIGN.md,
 * "Interfaces users rely on"): what the capture transport kept, read from
 * the store, so it survives restarts. No SigV4 (a developer tool on the
 * loopback listener). Rows of dev.c's route table:
 *
 *   GET    /_sesame/messages[?limit=N&q=&from=&to=&subject=&account=]
 *          {"messages": [{MessageId, Region, Source, From, Destination,
 *          Subject, Timestamp, SendingAccountId, SourceArn, MailFrom}, …]}
 *          newest last; the newest N (default 1000, max 10000) that match
 *          the search (store_msg_filter; each at most 256 bytes); MailFrom
 *          is the envelope sender as it leaves (VERP)
 *   GET    /_sesame/messages/<MessageId>  the list's members and the parsed
 *          message (mail/view.h): Size, RawUrl, Headers [{Name, Value}],
 *          Text, Html, HtmlUrl, Attachments [{Index, Filename, ContentType,
 *          ContentId, Inline, Size, Url}], Truncated; or ParseError
 *   GET    /_sesame/messages/<MessageId>/raw  the stored bytes, message/rfc822
 *   GET    /_sesame/messages/<MessageId>/html  the HTML part under a policy
 *          that runs no script and loads nothing (for an <iframe sandbox>)
 *   GET    /_sesame/messages/<MessageId>/attachments/<N>  attachment N's
 *          decoded bytes, as a download
 *   GET    /_sesame/messages/<MessageId>/events  {"events": [{Type, Recipient,
 *          Timestamp, Detail}, …]} oldest first, for a message of any transport
 *   DELETE /_sesame/messages  empties the inbox: {"Deleted": N}
 *   DELETE /_sesame/messages/<MessageId>  one: {"Deleted": 1}, or 404
 *   GET    /_sesame/events  text/event-stream: "event: mail" with
 *          {"Newest": id} whenever the newest captured message changes (and
 *          once at the start); at most DEV_EVENTS_MAX open at once, 503 beyond
 *   GET    /_sesame/[?q=…]  the inbox page: the same list (and search),
 *          newest first, with the message view, delete and live updates
 *
 * Unknown ids and paths answer 404 JSON; a store failure 503 JSON.
 */
#ifndef SESAME_API_DEV_MESSAGES_H
#define SESAME_API_DEV_MESSAGES_H

struct httpd_req;
struct api_thread;

#define DEV_MESSAGES_DEFAULT 1000
#define DEV_MESSAGES_MAX 10000
#define DEV_EVENTS_MAX 32 /* open /_sesame/events streams, process-wide */

void dev_messages_list(struct httpd_req *r, struct api_thread *t, const char *rest);
void dev_messages_raw(struct httpd_req *r, struct api_thread *t, const char *rest);
void dev_messages_delete(struct httpd_req *r, struct api_thread *t, const char *rest);
void dev_messages_delete_one(struct httpd_req *r, struct api_thread *t, const char *rest);
void dev_messages_events(struct httpd_req *r, struct api_thread *t, const char *rest);
void dev_messages_inbox(struct httpd_req *r, struct api_thread *t, const char *rest);

#endif
