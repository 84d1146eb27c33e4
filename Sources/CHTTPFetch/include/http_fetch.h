/*
 * http_fetch.h — one bounded HTTP(S) GET with a bearer token, through libcurl (Debian
 * libcurl4-openssl-dev, already linked by the messenger plugins): TLS with the system's CA
 * store, proxies from the environment, a total time limit. The gateway asks the site's context
 * service with it ([auth] context_url).
 *
 * Blocking: call it on a thread that may block (the gateway's context thread pool), never on
 * an event loop. Thread-safe: every call uses its own easy handle; libcurl is initialized once.
 */
#ifndef HTTP_FETCH_H
#define HTTP_FETCH_H

#include <stddef.h>

typedef enum {
    HF_OK = 0,          /* an HTTP answer arrived (any status): see `status` */
    HF_TIMEOUT = 1,     /* no complete answer within the time limit */
    HF_UNREACHABLE = 2, /* DNS, connection refused, TLS failure, connection reset … */
    HF_TOO_LARGE = 3,   /* the body exceeded `max_body` bytes (the transfer was stopped) */
    HF_BAD_REQUEST = 4, /* the URL or the token cannot be used (not http/https, control characters) */
    HF_FAILED = 5,      /* anything else libcurl reports (out of memory …) */
} hf_outcome;

typedef struct {
    hf_outcome outcome;
    long status;          /* the HTTP status when outcome is HF_OK, else 0 */
    char *body;           /* malloc'd, NUL-terminated; NULL when empty. Free with hf_answer_free */
    size_t body_length;
    char error[256];      /* libcurl's explanation when outcome is not HF_OK */
} hf_answer;

/* GET `url` with `Authorization: Bearer <bearer>` and `Accept: application/json`, giving up
 * after `timeout_ms` in total (connect + TLS + answer). Redirects are not followed. Fills
 * `answer` (which the caller must release with hf_answer_free, whatever the outcome). */
void hf_get(const char *url, const char *bearer, long timeout_ms, size_t max_body, hf_answer *answer);

void hf_answer_free(hf_answer *answer);

#endif /* HTTP_FETCH_H */
