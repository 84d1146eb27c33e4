/* An ABI 1.2 messenger whose answer is chosen by its config ("outcome": sent | retry | refuse |
 * error | refuse_uncoded | echo: retry with a text saying what it was handed). */
#include "gateway_plugin.h"
#include <stdlib.h>
#include <string.h>

typedef struct fixture { const gw_host_services *host; char outcome[32]; } fixture;

static gw_instance *create(const gw_host_services *host, const gw_host_context *context,
                           const json_t *config, gw_message *error) {
    (void)context; (void)error;
    fixture *f = calloc(1, sizeof *f);
    f->host = host;
    const char *outcome = json_string_value(json_object_get(config, "outcome"));
    snprintf(f->outcome, sizeof f->outcome, "%s", outcome ? outcome : "sent");
    return (gw_instance *)f;
}

static void destroy(gw_instance *instance) { free(instance); }

static gw_result on_send(gw_instance *instance, const gw_delivery *delivery, gw_message *message) {
    fixture *f = (fixture *)instance;
    const char *category = json_string_value(json_object_get(delivery->event, "category"));
    const char *recipient = json_string_value(json_object_get(delivery->recipient, "id"));
    if (!strcmp(f->outcome, "echo")) { /* the text says what the plugin was handed */
        gw_message_refuse(f->host, message, "fixture.seen", 0, "%s %s %s %s #%u %s", delivery->alias, delivery->address,
                          recipient ? recipient : "?", category ? category : "?", delivery->attempt, delivery->delivery_id);
        return GW_RETRY;
    }
    if (!strcmp(f->outcome, "retry")) { gw_message_refuse(f->host, message, "fixture.down", 0, "server down"); return GW_RETRY; }
    if (!strcmp(f->outcome, "refuse")) { gw_message_refuse(f->host, message, "fixture.bad_address", 0, "no such mailbox"); return GW_REJECT; }
    if (!strcmp(f->outcome, "refuse_uncoded")) { gw_message_set(message, "no code given"); return GW_REJECT; }
    if (!strcmp(f->outcome, "error")) { gw_message_set(message, "bug"); return GW_ERROR; }
    return GW_OK;
}

static const gw_plugin_descriptor descriptor = {
    /* Built as an ABI 1.2 plugin: the host must keep loading those (struct ends at on_send_test). */
    .struct_size = GW_PLUGIN_DESCRIPTOR_V1_2_SIZE,
    .abi_major = GW_PLUGIN_ABI_MAJOR,
    .abi_minor = 2,
    .name = "fixture-messenger",
    .version = "1.0.0",
    .capabilities = GW_CAP_MESSENGER,
    .create = create,
    .destroy = destroy,
    .on_send = on_send,
};

GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void) { return &descriptor; }
