/*
 * request.h — one HTTP request on the API listener: route, decode,
 * authenticate, dispatch, answer.
 */
#ifndef SESAME_API_REQUEST_H
#define SESAME_API_REQUEST_H

struct evhttp_request;

/* evhttp generic callback; `arg` is the thread's struct api_thread. */
void request_handle(struct evhttp_request *req, void *arg);

#endif
