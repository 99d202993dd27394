/*
 * request.h — one HTTP request on the API listener: route, decode,
 * authenticate, dispatch, answer.
 */
#ifndef SESAME_API_REQUEST_H
#define SESAME_API_REQUEST_H

struct httpd_req;

/* The listener's handler (util/httpd.h); `arg` is the thread's struct api_thread. */
void request_handle(struct httpd_req *req, void *arg);

#endif
