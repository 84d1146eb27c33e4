/*
 * smtp_messenger.c — bundled messenger "smtp": one event as one plain-text mail, through libcurl
 * (SMTP, STARTTLS, AUTH; libcurl also dot-stuffs the body). See README.md for the config keys.
 *
 * Outcomes: 250 → GW_OK; a 5xx answer to the recipient or the data (mailbox unknown, refused) →
 * GW_REJECT; an address that is not one mailbox → GW_REJECT without connecting; a 4xx answer,
 * no connection, a timeout, TLS or login failures → GW_RETRY (the host backs off, then dead-
 * letters). The Message-ID is derived from the delivery id, so a mail sent twice after a crash
 * is recognisable as one.
 * Threading: on_send runs on the host's blocking pool, concurrently; the instance is read-only
 * after create() and each call uses its own curl handle.
 */
#include "smtp_messenger.h"
#include "messenger_support.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PREFIX "smtp"

struct gw_instance {
    const gw_host_services *host;
    char *url, *from, *username, *password, *ca_file, *subject_prefix;
    curl_usessl tls;
    long timeout_seconds;
};

static char *dup_or_null(const char *text) { return text ? strdup(text) : NULL; }

static void smtp_destroy(gw_instance *instance) {
    if (instance == NULL) return;
    free(instance->url); free(instance->from); free(instance->username); free(instance->password);
    free(instance->ca_file); free(instance->subject_prefix);
    free(instance);
}

/* One mailbox, no display name, no header-breaking characters: local@domain. */
static int is_plain_mailbox(const char *address) {
    const char *at = strchr(address, '@');
    if (at == NULL || at == address || at[1] == '\0' || strchr(at + 1, '@') != NULL) return 0;
    if (strlen(address) > 254) return 0;
    for (const unsigned char *c = (const unsigned char *)address; *c; c++) {
        if (*c <= ' ' || *c == '<' || *c == '>' || *c == ',' || *c == ';' || *c == '"' || *c == 0x7F) return 0;
    }
    return 1;
}

static gw_instance *smtp_create(const gw_host_services *host, const gw_host_context *context,
                                const json_t *config, gw_message *error) {
    (void)context;
    static const char *const known[] = {"url", "from", "username", "password", "password_env", "starttls",
                                        "ca_file", "timeout_seconds", "subject_prefix", NULL};
    if (ms_curl_global_init() != 0) {
        gw_message_set(error, "smtp.curl_init_failed: libcurl could not be initialized");
        return NULL;
    }
    if (ms_check_keys(config, known, PREFIX, error) != 0) return NULL;
    int failed = 0;
    const char *url = ms_string(config, "url", "smtp://127.0.0.1:25", PREFIX, error, &failed);
    const char *from = ms_string(config, "from", NULL, PREFIX, error, &failed);
    const char *username = ms_string(config, "username", NULL, PREFIX, error, &failed);
    const char *password = ms_secret(config, "password", PREFIX, error, &failed);
    const char *starttls = ms_string(config, "starttls", "required", PREFIX, error, &failed);
    const char *ca_file = ms_string(config, "ca_file", NULL, PREFIX, error, &failed);
    const char *subject_prefix = ms_string(config, "subject_prefix", "", PREFIX, error, &failed);
    long timeout = ms_integer(config, "timeout_seconds", 30, 1, 600, PREFIX, error, &failed);
    if (failed) return NULL;
    if (from == NULL || !is_plain_mailbox(from)) {
        gw_message_set(error, "smtp.config_invalid_value: 'from' must be one mailbox such as gateway@example.org");
        return NULL;
    }
    if (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0) {
        gw_message_set(error, "smtp.config_invalid_value: 'url' must start with smtp:// or smtps://");
        return NULL;
    }
    curl_usessl tls;
    if (strcmp(starttls, "required") == 0) tls = CURLUSESSL_ALL;
    else if (strcmp(starttls, "opportunistic") == 0) tls = CURLUSESSL_TRY;
    else if (strcmp(starttls, "off") == 0) tls = CURLUSESSL_NONE;
    else {
        gw_message_set(error, "smtp.config_invalid_value: 'starttls' must be \"required\", \"opportunistic\" or \"off\"");
        return NULL;
    }
    if ((username == NULL) != (password == NULL)) {
        gw_message_set(error, "smtp.config_invalid_value: 'username' and 'password' (or 'password_env') go together");
        return NULL;
    }
    gw_instance *instance = calloc(1, sizeof *instance);
    if (instance == NULL) {
        gw_message_set(error, "smtp.out_of_memory: cannot allocate the instance");
        return NULL;
    }
    instance->host = host;
    instance->url = strdup(url);
    instance->from = strdup(from);
    instance->username = dup_or_null(username);
    instance->password = dup_or_null(password);
    instance->ca_file = dup_or_null(ca_file);
    instance->subject_prefix = strdup(subject_prefix);
    instance->tls = tls;
    instance->timeout_seconds = timeout;
    if (!instance->url || !instance->from || !instance->subject_prefix) {
        smtp_destroy(instance);
        gw_message_set(error, "smtp.out_of_memory: cannot copy the config");
        return NULL;
    }
    return instance;
}

/* RFC 2047 encoded-word for a subject with non-ASCII bytes (UTF-8, base64). */
static void write_subject(FILE *out, const char *prefix, const char *subject) {
    size_t length = strlen(prefix) + strlen(subject);
    char *joined = malloc(length + 1);
    if (joined == NULL) { fputs("Subject: notification\r\n", out); return; }
    snprintf(joined, length + 1, "%s%s", prefix, subject);
    int ascii = 1;
    for (const unsigned char *c = (const unsigned char *)joined; *c; c++) ascii &= *c < 0x80;
    if (ascii) {
        fprintf(out, "Subject: %s\r\n", joined);
    } else {
        unsigned char *encoded = malloc(4 * ((length + 2) / 3) + 1);
        if (encoded) {
            EVP_EncodeBlock(encoded, (const unsigned char *)joined, (int)length);
            fprintf(out, "Subject: =?UTF-8?B?%s?=\r\n", encoded);
            free(encoded);
        }
    }
    free(joined);
}

/* The whole message, CRLF line endings (malloc'd). */
static char *build_mail(const gw_instance *instance, const gw_delivery *delivery) {
    char *mail = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&mail, &size);
    if (out == NULL) return NULL;
    char date[64];
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &utc);
    fprintf(out, "Date: %s\r\nFrom: %s\r\nTo: %s\r\n", date, instance->from, delivery->address);
    /* Message-ID from the delivery id: only [A-Za-z0-9.-] kept, so it is always well-formed. */
    fputs("Message-ID: <", out);
    for (const char *c = delivery->delivery_id ? delivery->delivery_id : "delivery"; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' || *c == '-')
            fputc(*c, out);
        else
            fputc('.', out);
    }
    fprintf(out, "@%s>\r\n", strchr(instance->from, '@') + 1);
    char *subject = ms_event_subject(delivery->event);
    write_subject(out, instance->subject_prefix, subject ? subject : "notification");
    free(subject);
    fputs("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
          "Auto-Submitted: auto-generated\r\n\r\n", out);
    char *text = ms_event_text(delivery->event);
    for (const char *c = text ? text : ""; *c; c++) {
        if (*c == '\n') fputs("\r\n", out);
        else if (*c != '\r') fputc(*c, out);
    }
    fputs("\r\n", out);
    free(text);
    if (fclose(out) != 0) {
        free(mail);
        return NULL;
    }
    return mail;
}

typedef struct upload { const char *data; size_t left; } upload;

static size_t read_upload(char *buffer, size_t size, size_t count, void *user) {
    upload *state = user;
    size_t room = size * count, chunk = state->left < room ? state->left : room;
    memcpy(buffer, state->data, chunk);
    state->data += chunk;
    state->left -= chunk;
    return chunk;
}

static gw_result send_mail(gw_instance *instance, const gw_delivery *delivery, gw_message *message) {
    if (!is_plain_mailbox(delivery->address)) {
        gw_message_refuse(instance->host, message, "smtp.bad_address", 0,
                          "'%.200s' is not one mail address (local@domain)", delivery->address);
        return GW_REJECT;
    }
    char *mail = build_mail(instance, delivery);
    CURL *curl = curl_easy_init();
    if (mail == NULL || curl == NULL) {
        free(mail);
        if (curl) curl_easy_cleanup(curl);
        gw_message_refuse(instance->host, message, "smtp.out_of_memory", 0, "cannot build the mail");
        return GW_RETRY;
    }
    char envelope_from[300], envelope_to[300], error_buffer[CURL_ERROR_SIZE] = "";
    snprintf(envelope_from, sizeof envelope_from, "<%s>", instance->from);
    snprintf(envelope_to, sizeof envelope_to, "<%s>", delivery->address);
    struct curl_slist *recipients = curl_slist_append(NULL, envelope_to);
    upload state = {mail, strlen(mail)};
    curl_easy_setopt(curl, CURLOPT_URL, instance->url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, envelope_from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &state);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)instance->tls);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, instance->timeout_seconds);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, instance->timeout_seconds < 10 ? instance->timeout_seconds : 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* a worker thread must not get SIGALRM */
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    if (instance->ca_file) curl_easy_setopt(curl, CURLOPT_CAINFO, instance->ca_file);
    if (instance->username) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, instance->username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, instance->password);
    }
    CURLcode code = curl_easy_perform(curl);
    long reply = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
    curl_slist_free_all(recipients);
    curl_easy_cleanup(curl);
    free(mail);
    if (code == CURLE_OK) return GW_OK;
    if (reply >= 500 && reply < 600 && code != CURLE_LOGIN_DENIED) {
        gw_message_refuse(instance->host, message, "smtp.rejected", 0, "the server refused the mail (%ld): %s",
                          reply, error_buffer[0] ? error_buffer : curl_easy_strerror(code));
        return GW_REJECT;
    }
    return ms_curl_failure(instance->host, code, error_buffer, PREFIX, message);
}

static gw_result smtp_on_send(gw_instance *instance, const gw_delivery *delivery, gw_message *message) {
    if (delivery == NULL || delivery->address == NULL || delivery->event == NULL) {
        gw_message_refuse(instance->host, message, "smtp.bad_delivery", 0, "on_send without a delivery");
        return GW_ERROR;
    }
    return send_mail(instance, delivery, message);
}

static gw_result smtp_on_send_test(gw_instance *instance, const char *address, gw_message *message) {
    json_t *event = json_pack("{s:s, s:s, s:s}", "category", "gateway.test", "title", "Chat Gateway test message",
                              "message", "This is a test message from the gateway's smtp messenger.");
    json_t *recipient = json_pack("{s:s}", "id", "test");
    gw_delivery delivery = {.struct_size = sizeof delivery, .event = event, .recipient = recipient,
                            .address = address ? address : "", .alias = "smtp", .attempt = 1, .delivery_id = "test"};
    gw_result result = event && recipient ? send_mail(instance, &delivery, message) : GW_ERROR;
    json_decref(event);
    json_decref(recipient);
    return result;
}

static const gw_plugin_descriptor descriptor = {
    .struct_size = sizeof(gw_plugin_descriptor),
    .abi_major = GW_PLUGIN_ABI_MAJOR,
    .abi_minor = GW_PLUGIN_ABI_MINOR,
    .name = "smtp",
    .version = "1.0.0",
    .capabilities = GW_CAP_MESSENGER,
    .build_signature = "C (" __VERSION__ "), libcurl " LIBCURL_VERSION ", built " __DATE__,
    .create = smtp_create,
    .destroy = smtp_destroy,
    .on_send = smtp_on_send,
    .on_send_test = smtp_on_send_test,
};

GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void) { return &descriptor; }
