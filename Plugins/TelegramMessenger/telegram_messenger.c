/*
 * telegram_messenger.c — bundled messenger "telegram": the Bot API's sendMessage.
 *
 *   POST <base_url>/bot<token>/sendMessage   {"chat_id": "<address>", "text": "<title\nmessage\nurl>"}
 *
 * The address is the recipient's chat id (digits, optionally negative) or "@channelname".
 * `base_url` defaults to https://api.telegram.org; tests point it at a local HTTP server.
 * Outcomes: {"ok": true} with 2xx GW_OK; 429/5xx/transport GW_RETRY; 400 (chat not found),
 * 403 (bot blocked) and other 4xx GW_REJECT; an address of another shape GW_REJECT unsent.
 */
#include "telegram_messenger.h"
#include "messenger_support.h"

#include <stdlib.h>
#include <string.h>

#define PREFIX "telegram"

struct gw_instance {
    const gw_host_services *host;
    char *endpoint; /* <base_url>/bot<token>/sendMessage */
    long timeout_seconds;
};

static void telegram_destroy(gw_instance *instance) {
    if (instance == NULL) return;
    if (instance->endpoint) {
        memset(instance->endpoint, 0, strlen(instance->endpoint)); /* holds the bot token */
        free(instance->endpoint);
    }
    free(instance);
}

static gw_instance *telegram_create(const gw_host_services *host, const gw_host_context *context,
                                    const json_t *config, gw_message *error) {
    (void)context;
    static const char *const known[] = {"bot_token", "bot_token_env", "base_url", "timeout_seconds", NULL};
    if (ms_curl_global_init() != 0) {
        gw_message_set(error, "telegram.curl_init_failed: libcurl could not be initialized");
        return NULL;
    }
    if (ms_check_keys(config, known, PREFIX, error) != 0) return NULL;
    int failed = 0;
    const char *token = ms_secret(config, "bot_token", PREFIX, error, &failed);
    const char *base = ms_string(config, "base_url", "https://api.telegram.org", PREFIX, error, &failed);
    long timeout = ms_integer(config, "timeout_seconds", 10, 1, 600, PREFIX, error, &failed);
    if (failed) return NULL;
    if (token == NULL || strchr(token, '/') != NULL || strchr(token, '?') != NULL) {
        gw_message_set(error, "telegram.config_invalid_value: 'bot_token' (or 'bot_token_env') is required (the token BotFather gave)");
        return NULL;
    }
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) {
        gw_message_set(error, "telegram.config_invalid_value: 'base_url' must start with http:// or https://");
        return NULL;
    }
    gw_instance *instance = calloc(1, sizeof *instance);
    size_t size = strlen(base) + strlen(token) + 32;
    char *endpoint = malloc(size);
    if (instance == NULL || endpoint == NULL) {
        free(instance);
        free(endpoint);
        gw_message_set(error, "telegram.out_of_memory: cannot allocate the instance");
        return NULL;
    }
    size_t base_length = strlen(base);
    while (base_length > 0 && base[base_length - 1] == '/') base_length--;
    snprintf(endpoint, size, "%.*s/bot%s/sendMessage", (int)base_length, base, token);
    instance->host = host;
    instance->endpoint = endpoint;
    instance->timeout_seconds = timeout;
    return instance;
}

/* "12345", "-100123" or "@channel_name". */
static int is_chat_id(const char *address) {
    if (address[0] == '@') {
        size_t length = strlen(address);
        if (length < 2 || length > 64) return 0;
        for (const char *c = address + 1; *c; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_')) return 0;
        }
        return 1;
    }
    const char *digits = address[0] == '-' ? address + 1 : address;
    if (*digits == '\0' || strlen(digits) > 20) return 0;
    for (const char *c = digits; *c; c++) if (*c < '0' || *c > '9') return 0;
    return 1;
}

static gw_result telegram_on_send(gw_instance *instance, const gw_delivery *delivery, gw_message *message) {
    if (delivery == NULL || delivery->address == NULL || delivery->event == NULL) {
        gw_message_refuse(instance->host, message, "telegram.bad_delivery", 0, "on_send without a delivery");
        return GW_ERROR;
    }
    if (!is_chat_id(delivery->address)) {
        gw_message_refuse(instance->host, message, "telegram.bad_address", 0,
                          "'%.100s' is not a Telegram chat id (digits) or @channel", delivery->address);
        return GW_REJECT;
    }
    char *text = ms_event_text(delivery->event);
    json_t *body = json_pack("{s:s, s:s}", "chat_id", delivery->address, "text", text ? text : "notification");
    free(text);
    char *encoded = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (encoded == NULL) {
        gw_message_refuse(instance->host, message, "telegram.bad_event", 0, "the message cannot be encoded");
        return GW_REJECT;
    }
    char answer[1024] = "";
    gw_result result = ms_post_json(instance->host, instance->endpoint, encoded, NULL, instance->timeout_seconds,
                                    PREFIX, answer, sizeof answer, message);
    free(encoded);
    if (result != GW_OK) return result;
    json_t *parsed = json_loads(answer, 0, NULL);
    int ok = parsed != NULL && json_is_true(json_object_get(parsed, "ok"));
    json_decref(parsed);
    if (!ok) {
        gw_message_refuse(instance->host, message, "telegram.refused", 0, "the Bot API did not answer ok: %.200s", answer);
        return GW_REJECT;
    }
    return GW_OK;
}

static const gw_plugin_descriptor descriptor = {
    .struct_size = sizeof(gw_plugin_descriptor),
    .abi_major = GW_PLUGIN_ABI_MAJOR,
    .abi_minor = GW_PLUGIN_ABI_MINOR,
    .name = "telegram",
    .version = "1.0.0",
    .capabilities = GW_CAP_MESSENGER,
    .build_signature = "C (" __VERSION__ "), libcurl " LIBCURL_VERSION ", built " __DATE__,
    .create = telegram_create,
    .destroy = telegram_destroy,
    .on_send = telegram_on_send,
    .on_send_test = NULL,
};

GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void) { return &descriptor; }
