/*
 * messenger_support.h — what the bundled messenger plugins (smtp, webhook, telegram) share:
 * strict config reading, the text of an event, and libcurl's outcome as a gw_result.
 * A static library linked into each plugin; nothing here is exported from a plugin.
 */
#ifndef MESSENGER_SUPPORT_H
#define MESSENGER_SUPPORT_H

#include "gateway_plugin.h"
#include <curl/curl.h>

/* Refuses a config with a key outside `known` (NULL-terminated): "<prefix>.config_unknown_key". */
int ms_check_keys(const json_t *config, const char *const *known, const char *prefix, gw_message *error);

/* A string key: its value (borrowed from config), `fallback` when absent; NULL with *error set
 * when present but not a non-empty string. */
const char *ms_string(const json_t *config, const char *key, const char *fallback, const char *prefix,
                      gw_message *error, int *failed);

/* A secret: `key` itself, or the environment variable named by `key`_env. NULL when neither. */
const char *ms_secret(const json_t *config, const char *key, const char *prefix, gw_message *error, int *failed);

/* An integer key in [min, max]; `fallback` when absent. */
long ms_integer(const json_t *config, const char *key, long fallback, long min, long max, const char *prefix,
                gw_message *error, int *failed);

/* The human text of an event: title, message and url on separate lines (malloc'd; NULL: OOM). */
char *ms_event_text(const json_t *event);

/* The subject line of an event: its title, else "<category> notification" (malloc'd). Control
 * characters are replaced by spaces, so it can never inject a header. */
char *ms_event_subject(const json_t *event);

/* Classifies a transport failure of libcurl: connection-level problems are temporary (GW_RETRY). */
gw_result ms_curl_failure(const gw_host_services *host, CURLcode code, const char *error_buffer,
                          const char *prefix, gw_message *message);

/* Classifies an HTTP answer: 2xx GW_OK; 408, 425, 429 and 5xx GW_RETRY; other 4xx GW_REJECT. */
gw_result ms_http_status(const gw_host_services *host, long status, const char *body, const char *prefix,
                         gw_message *message);

/* POSTs `json_body` to `url` with `headers` (consumed: freed here) and Content-Type JSON. The
 * first KiB of the answer goes into `answer`. Returns ms_curl_failure / ms_http_status's verdict. */
gw_result ms_post_json(const gw_host_services *host, const char *url, const char *json_body,
                       struct curl_slist *headers, long timeout_seconds, const char *prefix,
                       char *answer, size_t answer_capacity, gw_message *message);

/* Initializes libcurl once per process (thread-safe); 0 on success. */
int ms_curl_global_init(void);

#endif /* MESSENGER_SUPPORT_H */
