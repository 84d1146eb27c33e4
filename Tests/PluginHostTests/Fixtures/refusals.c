/* One source, one refusal per build: compiled with -DREFUSAL_<KIND> into a separate .so each.
 * Every variant is otherwise a valid plugin, so the host's refusal can only come from the defect. */
#include "gateway_plugin.h"
#include <stdlib.h>

static gw_instance *create(const gw_host_services *host, const gw_host_context *context,
                           const json_t *config, gw_message *error) {
    (void)host; (void)context; (void)config; (void)error;
    return (gw_instance *)malloc(1);
}
static void destroy(gw_instance *instance) { free(instance); }
static gw_result on_targets(gw_instance *i, const json_t *e, json_t **o, gw_message *m) {
    (void)i; (void)e; (void)o; (void)m; return GW_SKIP;
}

#if defined(REFUSAL_NO_ENTRY)
/* Exports something, but not the entry symbol. */
GW_PLUGIN_EXPORT int not_the_entry(void) { return 1; }
#elif defined(REFUSAL_NULL_DESCRIPTOR)
GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void) { return NULL; }
#else

#if defined(REFUSAL_BAD_MAJOR)
#define ABI_MAJOR 2
#else
#define ABI_MAJOR GW_PLUGIN_ABI_MAJOR
#endif

#if defined(REFUSAL_TOO_SMALL)
#define STRUCT_SIZE offsetof(gw_plugin_descriptor, on_targets)
#elif defined(REFUSAL_TINY)
#define STRUCT_SIZE 8
#else
#define STRUCT_SIZE sizeof(gw_plugin_descriptor)
#endif

#if defined(REFUSAL_UNKNOWN_CAPABILITY)
#define CAPABILITIES (GW_CAP_CATEGORY_TARGETS | (1u << 8))
#elif defined(REFUSAL_MISSING_HOOK)
#define CAPABILITIES (GW_CAP_CATEGORY_TARGETS | GW_CAP_RECIPIENT_FILTER)
#else
#define CAPABILITIES GW_CAP_CATEGORY_TARGETS
#endif

#if defined(REFUSAL_NULL_NAME)
#define NAME NULL
#else
#define NAME "fixture-refusal"
#endif

static const gw_plugin_descriptor descriptor = {
    .struct_size = STRUCT_SIZE,
    .abi_major = ABI_MAJOR,
    .abi_minor = 4,
    .name = NAME,
    .version = "0.0.1",
    .capabilities = CAPABILITIES,
    .create = create,
    .destroy = destroy,
    .on_targets = on_targets,
    /* on_filter stays NULL: REFUSAL_MISSING_HOOK declares it anyway. */
};

GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void) { return &descriptor; }
#endif
