/* See messenger_support.h. */
#include "messenger_support.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int ms_check_keys(const json_t *config, const char *const *known, const char *prefix, gw_message *error) {
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)config, key, value) { /* the macro wants non-const; it only reads */
        int found = 0;
        for (int i = 0; known[i] != NULL && !found; i++) found = strcmp(known[i], key) == 0;
        if (!found) {
            gw_message_set(error, "%s.config_unknown_key: unknown config key '%s'", prefix, key);
            return -1;
        }
    }
    return 0;
}

const char *ms_string(const json_t *config, const char *key, const char *fallback, const char *prefix,
                      gw_message *error, int *failed) {
    const json_t *value = json_object_get(config, key);
    if (value == NULL) return fallback;
    const char *text = json_string_value(value);
    if (text == NULL || text[0] == '\0') {
        gw_message_set(error, "%s.config_invalid_value: '%s' must be a non-empty string", prefix, key);
        *failed = 1;
        return NULL;
    }
    return text;
}

const char *ms_secret(const json_t *config, const char *key, const char *prefix, gw_message *error, int *failed) {
    const char *direct = ms_string(config, key, NULL, prefix, error, failed);
    if (direct != NULL || *failed) return direct;
    char env_key[128];
    snprintf(env_key, sizeof env_key, "%s_env", key);
    const char *variable = ms_string(config, env_key, NULL, prefix, error, failed);
    if (variable == NULL) return NULL;
    const char *value = getenv(variable);
    if (value == NULL || value[0] == '\0') {
        gw_message_set(error, "%s.config_secret_missing: environment variable '%s' (from '%s') is not set",
                       prefix, variable, env_key);
        *failed = 1;
        return NULL;
    }
    return value;
}

long ms_integer(const json_t *config, const char *key, long fallback, long min, long max, const char *prefix,
                gw_message *error, int *failed) {
    const json_t *value = json_object_get(config, key);
    if (value == NULL) return fallback;
    if (!json_is_integer(value) || json_integer_value(value) < min || json_integer_value(value) > max) {
        gw_message_set(error, "%s.config_invalid_value: '%s' must be an integer from %ld to %ld", prefix, key, min, max);
        *failed = 1;
        return fallback;
    }
    return (long)json_integer_value(value);
}

char *ms_event_text(const json_t *event) {
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (out == NULL) return NULL;
    const char *fields[] = {"title", "message", "url", NULL};
    int written = 0;
    for (int i = 0; fields[i] != NULL; i++) {
        const char *value = json_string_value(json_object_get(event, fields[i]));
        if (value == NULL || value[0] == '\0') continue;
        fprintf(out, "%s%s", written ? "\n" : "", value);
        written = 1;
    }
    if (!written) {
        const char *category = json_string_value(json_object_get(event, "category"));
        fprintf(out, "New %s notification", category ? category : "gateway");
    }
    if (fclose(out) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

char *ms_event_subject(const json_t *event) {
    const char *title = json_string_value(json_object_get(event, "title"));
    const char *category = json_string_value(json_object_get(event, "category"));
    char *subject = NULL;
    if (title != NULL && title[0] != '\0') {
        subject = strdup(title);
    } else {
        size_t size = strlen(category ? category : "gateway") + 32;
        subject = malloc(size);
        if (subject) snprintf(subject, size, "New %s notification", category ? category : "gateway");
    }
    if (subject == NULL) return NULL;
    for (unsigned char *c = (unsigned char *)subject; *c; c++) {
        if (*c < 0x20 || *c == 0x7F) *c = ' ';
    }
    return subject;
}

gw_result ms_curl_failure(const gw_host_services *host, CURLcode code, const char *error_buffer,
                          const char *prefix, gw_message *message) {
    const char *detail = error_buffer && error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    switch (code) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: {
        char code_text[64];
        snprintf(code_text, sizeof code_text, "%s.bad_url", prefix);
        gw_message_refuse(host, message, code_text, 0, "%s", detail);
        return GW_REJECT;
    }
    default: {
        /* Cannot resolve, connect, TLS, timeout, a dropped connection, login denied: the
         * server or its configuration may be fixed, so the delivery is retried (then dead-
         * lettered after the host's retry limit). */
        char code_text[64];
        snprintf(code_text, sizeof code_text, "%s.unreachable", prefix);
        gw_message_refuse(host, message, code_text, 0, "%s", detail);
        return GW_RETRY;
    }
    }
}

gw_result ms_http_status(const gw_host_services *host, long status, const char *body, const char *prefix,
                         gw_message *message) {
    if (status >= 200 && status < 300) return GW_OK;
    char code_text[64];
    int temporary = status == 408 || status == 425 || status == 429 || status >= 500;
    snprintf(code_text, sizeof code_text, "%s.%s", prefix, temporary ? "server_busy" : "refused");
    gw_message_refuse(host, message, code_text, 0, "HTTP %ld: %.200s", status, body ? body : "");
    return temporary ? GW_RETRY : GW_REJECT;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_result = -1;

static void curl_init_once(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1; }

int ms_curl_global_init(void) {
    pthread_once(&curl_once, curl_init_once);
    return curl_init_result;
}
