/* A publish guard and responder (ABI 1.3) for the host tests. config {"mode": ...}:
 *   skip, accept, refuse (coded 422), refuse_uncoded, error, rewrite (changes "message" and also
 *   tries to change id, source and target, which the host must keep), echo (refuses with what it
 *   was shown: publisher id, ingress, memberships), bot (on_routed publishes a reply through
 *   host->publish and refuses nothing), config_dir (refuses with host->config_directory(), ABI 1.4,
 *   or "none" when the host's table is too short to hold it). */
#include <stdlib.h>
#include <string.h>
#include "gateway_plugin.h"

typedef struct fixture {
    const gw_host_services *host;
    const gw_host_context *context;
    char mode[32];
} fixture;

static gw_instance *create(const gw_host_services *host, const gw_host_context *context, const json_t *config,
                           gw_message *error) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) { gw_message_set(error, "out of memory"); return NULL; }
    f->host = host;
    f->context = context;
    const char *mode = json_string_value(json_object_get(config, "mode"));
    snprintf(f->mode, sizeof f->mode, "%s", mode ? mode : "skip");
    return (gw_instance *)f;
}

static void destroy(gw_instance *instance) { free(instance); }

static gw_result on_publish(gw_instance *instance, const gw_publish_request *request, json_t **rewritten_out,
                            gw_message *message) {
    fixture *f = (fixture *)instance;
    if (!strcmp(f->mode, "accept")) return GW_OK;
    if (!strcmp(f->mode, "refuse")) { gw_message_refuse(f->host, message, "fixture.refused", 422, "no thanks"); return GW_REJECT; }
    if (!strcmp(f->mode, "refuse_uncoded")) { gw_message_set(message, "just no"); return GW_REJECT; }
    if (!strcmp(f->mode, "error")) { gw_message_set(message, "guard bug"); return GW_ERROR; }
    if (!strcmp(f->mode, "rewrite")) {
        json_t *copy = json_deep_copy(request->event);
        const char *text = json_string_value(json_object_get(request->event, "message"));
        char rewritten[256];
        snprintf(rewritten, sizeof rewritten, "[checked] %s", text ? text : "");
        json_object_set_new(copy, "message", json_string(rewritten));
        json_object_set_new(copy, "id", json_integer(999999));
        json_object_set_new(copy, "source", json_pack("{s:s}", "id", "mallory"));
        json_object_set_new(copy, "target", json_pack("{s:[s]}", "principals", "mallory"));
        *rewritten_out = copy;
        return GW_REWRITE;
    }
    if (!strcmp(f->mode, "config_dir")) {
        const char *folder = f->host->struct_size >= GW_HOST_SERVICES_V1_3_SIZE + sizeof(void *)
            ? f->host->config_directory(f->context) : "none";
        gw_message_refuse(f->host, message, "fixture.config_dir", 400, "%s", folder);
        return GW_REJECT;
    }
    if (!strcmp(f->mode, "echo")) {
        char *memberships = json_dumps(request->memberships, JSON_COMPACT | JSON_SORT_KEYS);
        gw_message_refuse(f->host, message, "fixture.echo", 400, "%s %s %s",
                          json_string_value(json_object_get(request->publisher, "id")), request->ingress,
                          memberships ? memberships : "?");
        free(memberships);
        return GW_REJECT;
    }
    return GW_SKIP;
}

static gw_result on_routed(gw_instance *instance, const json_t *event, gw_message *message) {
    fixture *f = (fixture *)instance;
    if (strcmp(f->mode, "bot") != 0) return GW_OK;
    json_t *reply = json_pack("{s:s, s:O}", "category", "bot.reply", "target", json_object_get(event, "target"));
    const char *text = json_string_value(json_object_get(event, "message"));
    char line[256];
    snprintf(line, sizeof line, "re: %s", text ? text : "");
    json_object_set_new(reply, "message", json_string(line));
    gw_result published = f->host->publish(f->context, reply, message);
    json_decref(reply);
    return published == GW_OK ? GW_OK : GW_ERROR;
}

static const gw_plugin_descriptor descriptor = {
    .struct_size = sizeof(gw_plugin_descriptor),
    .abi_major = GW_PLUGIN_ABI_MAJOR,
    .abi_minor = GW_PLUGIN_ABI_MINOR,
    .name = "fixture-guard",
    .version = "1.0.0",
    .capabilities = GW_CAP_PUBLISH_GUARD | GW_CAP_RESPONDER,
    .create = create,
    .destroy = destroy,
    .on_publish = on_publish,
    .on_routed = on_routed,
#ifdef MAY_BLOCK
    .publish_guard_flags = GW_GUARD_MAY_BLOCK,
#endif
};

GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void) { return &descriptor; }
