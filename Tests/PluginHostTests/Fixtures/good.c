/* A well-formed plugin with every capability; each hook's behaviour is chosen by the instance's
 * config so one shared object covers the good paths and the "plugin misbehaves at run time" paths.
 * Build variants: -DPLUGIN_NAME="..." and -DCATEGORY_LIST=wildcard|none (default: news, chat). */
#include "gateway_plugin.h"
#include <stdlib.h>
#include <string.h>

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "fixture-good"
#endif

typedef struct fixture {
    const gw_host_services *host;
    const gw_host_context *context;
    char tag[64];
    char targets[32], filter[32], validate[32], thumbnail[32];
    char drop_id[64];
    json_t *principals; /* owned */
} fixture;

static void copy_mode(char *out, size_t size, const json_t *config, const char *key, const char *fallback) {
    const char *value = json_string_value(json_object_get(config, key));
    snprintf(out, size, "%s", value ? value : fallback);
}

static gw_instance *create(const gw_host_services *host, const gw_host_context *context,
                           const json_t *config, gw_message *error) {
    const char *fail = json_string_value(json_object_get(config, "fail"));
    if (fail) {
        gw_message_set(error, "%s", fail);
        return NULL;
    }
    fixture *f = calloc(1, sizeof *f);
    f->host = host;
    f->context = context;
    copy_mode(f->tag, sizeof f->tag, config, "tag", "untagged");
    copy_mode(f->targets, sizeof f->targets, config, "targets", "ok");
    copy_mode(f->filter, sizeof f->filter, config, "filter", "deliver");
    copy_mode(f->validate, sizeof f->validate, config, "validate", "accept");
    copy_mode(f->thumbnail, sizeof f->thumbnail, config, "thumbnail", "ok");
    copy_mode(f->drop_id, sizeof f->drop_id, config, "drop_id", "");
    json_t *principals = json_object_get(config, "principals");
    f->principals = principals ? json_deep_copy(principals) : json_array();
    char line[128];
    snprintf(line, sizeof line, "created %s", f->tag);
    host->log(context, GW_LOG_INFO, line);
    return (gw_instance *)f;
}

static void destroy(gw_instance *instance) {
    fixture *f = (fixture *)instance;
    char line[128];
    snprintf(line, sizeof line, "destroyed %s", f->tag);
    f->host->log(f->context, GW_LOG_INFO, line);
    json_decref(f->principals);
    free(f);
}

static gw_result on_targets(gw_instance *instance, const json_t *event, json_t **out, gw_message *error) {
    fixture *f = (fixture *)instance;
    (void)event;
    if (!strcmp(f->targets, "skip")) return GW_SKIP;
    if (!strcmp(f->targets, "error")) { gw_message_set(error, "targets exploded in %s", f->tag); return GW_ERROR; }
    if (!strcmp(f->targets, "weird")) return 77;
    if (!strcmp(f->targets, "null_out")) return GW_OK;
    if (!strcmp(f->targets, "invalid_shape")) { *out = json_pack("{s:s}", "principals", "alice"); return GW_OK; }
    if (!strcmp(f->targets, "not_strings")) { *out = json_pack("{s:[s,i]}", "principals", "alice", 7); return GW_OK; }
    if (!strcmp(f->targets, "echo_category")) {
        *out = json_pack("{s:[O]}", "principals", json_object_get(event, "category"));
        return GW_OK;
    }
    *out = json_pack("{s:O}", "principals", f->principals);
    return GW_OK;
}

static gw_result on_filter(gw_instance *instance, const json_t *event, const json_t *recipient,
                           json_t **redacted_out, gw_message *error) {
    fixture *f = (fixture *)instance;
    if (!strcmp(f->filter, "skip")) return GW_SKIP;
    if (!strcmp(f->filter, "drop")) return GW_DROP;
    if (!strcmp(f->filter, "error")) { gw_message_set(error, "filter exploded in %s", f->tag); return GW_ERROR; }
    if (!strcmp(f->filter, "weird")) return 42;
    if (!strcmp(f->filter, "redact_null")) return GW_REDACT;
    if (!strcmp(f->filter, "redact_array")) { *redacted_out = json_array(); return GW_REDACT; }
    if (!strcmp(f->filter, "drop_id")) {
        const char *id = json_string_value(json_object_get(recipient, "id"));
        return id && !strcmp(id, f->drop_id) ? GW_DROP : GW_OK;
    }
    if (!strcmp(f->filter, "redact")) {
        /* Counts the redactions the event already went through, to prove chaining. */
        json_t *copy = json_deep_copy(event);
        json_int_t seen = json_integer_value(json_object_get(event, "redactions"));
        json_object_set_new(copy, "redactions", json_integer(seen + 1));
        json_object_set_new(copy, "message", json_sprintf("[redacted by %s for %s]", f->tag,
                            json_string_value(json_object_get(recipient, "id"))));
        *redacted_out = copy;
        return GW_REDACT;
    }
    return GW_OK;
}

static gw_result on_validate(gw_instance *instance, const json_t *metadata, const uint8_t *bytes,
                             size_t length, gw_message *message) {
    fixture *f = (fixture *)instance;
    (void)bytes;
    if (!strcmp(f->validate, "skip")) return GW_SKIP;
    if (!strcmp(f->validate, "reject")) {
        gw_message_set(message, "%s refuses %s", f->tag, json_string_value(json_object_get(metadata, "name")));
        return GW_REJECT;
    }
    if (!strcmp(f->validate, "error")) { gw_message_set(message, "validator broke"); return GW_ERROR; }
    json_t *size = json_object_get(metadata, "size");
    if (size && (size_t)json_integer_value(size) != length) {
        gw_message_set(message, "size %lld does not match %zu bytes", json_integer_value(size), length);
        return GW_REJECT;
    }
    return GW_OK;
}

static gw_result on_thumbnail(gw_instance *instance, const gw_thumbnail_request *request,
                              gw_thumbnail_result *result, gw_message *message) {
    fixture *f = (fixture *)instance;
    if (!strcmp(f->thumbnail, "skip") || strcmp(request->mime, "image/x-test") != 0) return GW_SKIP;
    if (!strcmp(f->thumbnail, "reject")) { gw_message_set(message, "corrupt image"); return GW_REJECT; }
    if (!strcmp(f->thumbnail, "error")) { gw_message_set(message, "decoder crashed"); return GW_ERROR; }
    if (!strcmp(f->thumbnail, "no_bytes")) { result->width = 1; result->height = 1; return GW_OK; }
    /* The "thumbnail" is the input reversed, so the test can check the bytes came back. */
    result->bytes = f->host->alloc(request->length);
    for (size_t i = 0; i < request->length; i++) result->bytes[i] = request->bytes[request->length - 1 - i];
    result->length = request->length;
    snprintf(result->mime, sizeof result->mime, "image/x-thumb");
    int too_big = !strcmp(f->thumbnail, "too_big");
    result->width = request->max_width < 10 ? request->max_width : 10;
    result->height = (request->max_height < 5 ? request->max_height : 5) + (too_big ? request->max_height : 0);
    return GW_OK;
}

#if defined(CATEGORY_LIST_WILDCARD)
static const char *const categories[] = {"*", NULL};
#define CATEGORIES categories
#elif defined(CATEGORY_LIST_NONE)
#define CATEGORIES NULL
#else
static const char *const categories[] = {"news", "chat", NULL};
#define CATEGORIES categories
#endif

static const gw_plugin_descriptor descriptor = {
#ifdef AS_ABI_1_0
    /* Built as a plugin of ABI 1.0 would be: a shorter descriptor, no on_filter_event. */
    .struct_size = GW_PLUGIN_DESCRIPTOR_V1_0_SIZE,
    .abi_minor = 0,
#elif defined(AS_ABI_1_1)
    /* Built as a plugin of ABI 1.1 would be: the descriptor ends after on_filter_event. */
    .struct_size = GW_PLUGIN_DESCRIPTOR_V1_1_SIZE,
    .abi_minor = 1,
#else
    .struct_size = sizeof(gw_plugin_descriptor),
    .abi_minor = GW_PLUGIN_ABI_MINOR,
#endif
    .abi_major = GW_PLUGIN_ABI_MAJOR,
    .name = PLUGIN_NAME,
    .version = "1.2.3",
    .capabilities = GW_CAP_CATEGORY_TARGETS | GW_CAP_RECIPIENT_FILTER | GW_CAP_ATTACHMENT_VALIDATION | GW_CAP_THUMBNAIL,
#ifdef BUILD_SIGNATURE
    .build_signature = BUILD_SIGNATURE,
#else
    .build_signature = "fixture built by PluginHostTests",
#endif
    .categories = CATEGORIES,
    .create = create,
    .destroy = destroy,
    .on_targets = on_targets,
    .on_filter = on_filter,
    .on_validate_attachment = on_validate,
    .on_thumbnail = on_thumbnail,
};

GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void) { return &descriptor; }
