/*
 * dev_messages.h — the capture inbox on the API listener (DESIGN.md,
 * "Interfaces users rely on"): what the capture transport kept, read from
 * the store, so it survives restarts. No SigV4 (a developer tool on the
 * loopback listener). Rows of dev.c's route table:
 *
 *   GET    /_sesame/messages[?limit=N]  {"messages": [{MessageId, Region,
 *          Source, From, Destination, Subject, Timestamp, SendingAccountId,
 *          SourceArn, MailFrom}, …]} newest last; the newest N (default 1000,
 *          max 10000); MailFrom is the envelope sender as it leaves (VERP)
 *   GET    /_sesame/messages/<MessageId>/raw  the stored bytes, message/rfc822
 *   GET    /_sesame/messages/<MessageId>/events  {"events": [{Type, Recipient,
 *          Timestamp, Detail}, …]} oldest first, for a message of any transport
 *   DELETE /_sesame/messages  empties the inbox: {"Deleted": N}
 *   GET    /_sesame/  the same list as an HTML page, newest first
 *
 * Unknown ids and paths answer 404 JSON; a store failure 503 JSON.
 */
#ifndef SESAME_API_DEV_MESSAGES_H
#define SESAME_API_DEV_MESSAGES_H

struct evhttp_request;
struct api_thread;

#define DEV_MESSAGES_DEFAULT 1000
#define DEV_MESSAGES_MAX 10000

void dev_messages_list(struct evhttp_request *req, struct api_thread *t, const char *rest);
void dev_messages_raw(struct evhttp_request *req, struct api_thread *t, const char *rest);
void dev_messages_delete(struct evhttp_request *req, struct api_thread *t, const char *rest);
void dev_messages_inbox(struct evhttp_request *req, struct api_thread *t, const char *rest);

#endif
