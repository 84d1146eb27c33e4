/* One JSON POST with libcurl, shared by the webhook and telegram messengers. */
#include "messenger_support.h"

#include <stdlib.h>
#include <string.h>

typedef struct body_buffer { char data[1024]; size_t length; } body_buffer;

/* Keeps the first KiB of the answer (for the reason text); reads and drops the rest. */
static size_t keep_body(char *chunk, size_t size, size_t count, void *user) {
    body_buffer *body = user;
    size_t bytes = size * count;
    size_t room = sizeof body->data - 1 - body->length;
    size_t take = bytes < room ? bytes : room;
    memcpy(body->data + body->length, chunk, take);
    body->length += take;
    body->data[body->length] = '\0';
    return bytes;
}

gw_result ms_post_json(const gw_host_services *host, const char *url, const char *json_body,
                       struct curl_slist *headers, long timeout_seconds, const char *prefix,
                       char *answer, size_t answer_capacity, gw_message *message) {
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        gw_message_refuse(host, message, "messenger.out_of_memory", 0, "cannot create a curl handle");
        return GW_RETRY;
    }
    body_buffer body = {.length = 0};
    body.data[0] = '\0';
    char error_buffer[CURL_ERROR_SIZE] = "";
    struct curl_slist *all = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, all);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(all);
    if (answer != NULL && answer_capacity > 0) snprintf(answer, answer_capacity, "%s", body.data);
    if (code != CURLE_OK) return ms_curl_failure(host, code, error_buffer, prefix, message);
    return ms_http_status(host, status, body.data, prefix, message);
}
