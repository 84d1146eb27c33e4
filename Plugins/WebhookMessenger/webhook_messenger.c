/*
 * webhook_messenger.c — bundled messenger "webhook": POSTs one delivery as JSON to the
 * configured URL, signed with HMAC-SHA256 so the receiver can check it came from the gateway:
 *
 *   POST <url>
 *   Content-Type: application/json
 *   X-Gateway-Delivery: <delivery id>            (stable across retries: de-duplicate on it)
 *   X-Gateway-Signature: sha256=<hex HMAC-SHA256(secret, body)>
 *   {"delivery_id": "...", "alias": "webhook", "address": "<recipient's address>",
 *    "recipient": {"id": ..., "principals": [...]}, "event": {...}}
 *
 * The URL comes from the config, never from a user: a user's address is data in the body (a
 * user-chosen URL would let anyone make the gateway call internal services).
 * Outcomes: 2xx GW_OK; 408/425/429/5xx and transport failures GW_RETRY; other 4xx GW_REJECT.
 */
#include "webhook_messenger.h"
#include "messenger_support.h"

#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "webhook"

struct gw_instance {
    const gw_host_services *host;
    char *url;
    char *secret;
    long timeout_seconds;
};

static void webhook_destroy(gw_instance *instance) {
    if (instance == NULL) return;
    free(instance->url);
    if (instance->secret) {
        memset(instance->secret, 0, strlen(instance->secret));
        free(instance->secret);
    }
    free(instance);
}

static gw_instance *webhook_create(const gw_host_services *host, const gw_host_context *context,
                                   const json_t *config, gw_message *error) {
    (void)context;
    static const char *const known[] = {"url", "secret", "secret_env", "timeout_seconds", NULL};
    if (ms_curl_global_init() != 0) {
        gw_message_set(error, "webhook.curl_init_failed: libcurl could not be initialized");
        return NULL;
    }
    if (ms_check_keys(config, known, PREFIX, error) != 0) return NULL;
    int failed = 0;
    const char *url = ms_string(config, "url", NULL, PREFIX, error, &failed);
    const char *secret = ms_secret(config, "secret", PREFIX, error, &failed);
    long timeout = ms_integer(config, "timeout_seconds", 10, 1, 600, PREFIX, error, &failed);
    if (failed) return NULL;
    if (url == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        gw_message_set(error, "webhook.config_invalid_value: 'url' is required and must start with http:// or https://");
        return NULL;
    }
    if (secret == NULL || strlen(secret) < 16) {
        gw_message_set(error, "webhook.config_invalid_value: 'secret' (or 'secret_env') is required, 16 characters or more");
        return NULL;
    }
    gw_instance *instance = calloc(1, sizeof *instance);
    if (instance == NULL) {
        gw_message_set(error, "webhook.out_of_memory: cannot allocate the instance");
        return NULL;
    }
    instance->host = host;
    instance->url = strdup(url);
    instance->secret = strdup(secret);
    instance->timeout_seconds = timeout;
    if (!instance->url || !instance->secret) {
        webhook_destroy(instance);
        gw_message_set(error, "webhook.out_of_memory: cannot copy the config");
        return NULL;
    }
    return instance;
}

static gw_result post_delivery(gw_instance *instance, const gw_delivery *delivery, gw_message *message) {
    json_t *body = json_pack("{s:s, s:s, s:s, s:O, s:O}", "delivery_id", delivery->delivery_id ? delivery->delivery_id : "",
                             "alias", delivery->alias ? delivery->alias : PREFIX, "address", delivery->address,
                             "recipient", delivery->recipient, "event", delivery->event);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        gw_message_refuse(instance->host, message, "webhook.bad_event", 0, "the delivery cannot be encoded as JSON");
        return GW_REJECT;
    }
    unsigned char digest[32];
    unsigned int digest_length = 0;
    HMAC(EVP_sha256(), instance->secret, (int)strlen(instance->secret), (const unsigned char *)text, strlen(text),
         digest, &digest_length);
    char signature[128] = "X-Gateway-Signature: sha256=";
    size_t offset = strlen(signature);
    for (unsigned int i = 0; i < digest_length; i++) offset += (size_t)snprintf(signature + offset, 3, "%02x", digest[i]);
    char delivery_header[300];
    snprintf(delivery_header, sizeof delivery_header, "X-Gateway-Delivery: %s",
             delivery->delivery_id ? delivery->delivery_id : "");
    for (char *c = delivery_header; *c; c++) if ((unsigned char)*c < 0x20) *c = ' ';
    struct curl_slist *headers = curl_slist_append(NULL, signature);
    headers = curl_slist_append(headers, delivery_header);
    gw_result result = ms_post_json(instance->host, instance->url, text, headers, instance->timeout_seconds,
                                    PREFIX, NULL, 0, message);
    free(text);
    return result;
}

static gw_result webhook_on_send(gw_instance *instance, const gw_delivery *delivery, gw_message *message) {
    if (delivery == NULL || delivery->address == NULL || delivery->event == NULL || delivery->recipient == NULL) {
        gw_message_refuse(instance->host, message, "webhook.bad_delivery", 0, "on_send without a delivery");
        return GW_ERROR;
    }
    return post_delivery(instance, delivery, message);
}

static const gw_plugin_descriptor descriptor = {
    .struct_size = sizeof(gw_plugin_descriptor),
    .abi_major = GW_PLUGIN_ABI_MAJOR,
    .abi_minor = GW_PLUGIN_ABI_MINOR,
    .name = "webhook",
    .version = "1.0.0",
    .capabilities = GW_CAP_MESSENGER,
    .build_signature = "C (" __VERSION__ "), libcurl " LIBCURL_VERSION ", built " __DATE__,
    .create = webhook_create,
    .destroy = webhook_destroy,
    .on_send = webhook_on_send,
    .on_send_test = NULL, /* the host tests through on_send with a synthetic event */
};

GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void) { return &descriptor; }
