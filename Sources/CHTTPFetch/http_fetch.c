#include "http_fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result = CURLE_FAILED_INIT;

static void global_init(void) { global_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct {
    char *data;
    size_t length;
    size_t limit;
    int too_large;
} body_buffer;

static size_t collect(char *chunk, size_t size, size_t count, void *user) {
    body_buffer *body = user;
    size_t bytes = size * count;
    if (body->length + bytes > body->limit) {
        body->too_large = 1;
        return 0; /* stops the transfer: CURLE_WRITE_ERROR */
    }
    char *grown = realloc(body->data, body->length + bytes + 1);
    if (!grown) return 0;
    body->data = grown;
    memcpy(body->data + body->length, chunk, bytes);
    body->length += bytes;
    body->data[body->length] = '\0';
    return bytes;
}

/* A header value must not carry CR, LF or other control characters (header injection). */
static int is_header_safe(const char *text) {
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) return 0;
    }
    return 1;
}

static void fail(hf_answer *answer, hf_outcome outcome, const char *why) {
    answer->outcome = outcome;
    snprintf(answer->error, sizeof answer->error, "%s", why);
}

void hf_get(const char *url, const char *bearer, long timeout_ms, size_t max_body, hf_answer *answer) {
    memset(answer, 0, sizeof *answer);
    if (!url || !bearer || !is_header_safe(bearer) || !is_header_safe(url)
        || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        fail(answer, HF_BAD_REQUEST, "the URL must be http:// or https:// and the token plain text");
        return;
    }
    pthread_once(&global_once, global_init);
    if (global_result != CURLE_OK) {
        fail(answer, HF_FAILED, curl_easy_strerror(global_result));
        return;
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        fail(answer, HF_FAILED, "curl_easy_init failed");
        return;
    }
    size_t header_length = strlen(bearer) + sizeof "Authorization: Bearer ";
    char *authorization = malloc(header_length);
    if (!authorization) {
        curl_easy_cleanup(curl);
        fail(answer, HF_FAILED, "out of memory");
        return;
    }
    snprintf(authorization, header_length, "Authorization: Bearer %s", bearer);
    struct curl_slist *headers = curl_slist_append(NULL, authorization);
    headers = curl_slist_append(headers, "Accept: application/json");
    /* pyams_chat_ws sends it too; some sites route on it. */
    headers = curl_slist_append(headers, "Content-Type: application/json");
    body_buffer body = {.limit = max_body};
    char error_buffer[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  /* required with threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "chat-gateway");

    CURLcode code = curl_easy_perform(curl);
    if (code == CURLE_OK) {
        answer->outcome = HF_OK;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer->status);
        answer->body = body.data;
        answer->body_length = body.length;
        body.data = NULL;
    } else {
        const char *why = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
        switch (code) {
        case CURLE_OPERATION_TIMEDOUT: fail(answer, HF_TIMEOUT, why); break;
        case CURLE_WRITE_ERROR: fail(answer, body.too_large ? HF_TOO_LARGE : HF_FAILED, why); break;
        case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY: case CURLE_COULDNT_CONNECT:
        case CURLE_SEND_ERROR: case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING: case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION: case CURLE_PARTIAL_FILE: case CURLE_WEIRD_SERVER_REPLY:
            fail(answer, HF_UNREACHABLE, why);
            break;
        case CURLE_URL_MALFORMAT: case CURLE_UNSUPPORTED_PROTOCOL: fail(answer, HF_BAD_REQUEST, why); break;
        default: fail(answer, HF_FAILED, why); break;
        }
    }
    free(body.data);
    curl_slist_free_all(headers);
    free(authorization);
    curl_easy_cleanup(curl);
}

void hf_answer_free(hf_answer *answer) {
    free(answer->body);
    answer->body = NULL;
    answer->body_length = 0;
}
