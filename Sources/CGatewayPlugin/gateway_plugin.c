/* The ABI is header-only (include/gateway_plugin.h). SwiftPM needs one C source per target; this
 * file also checks at compile time that the v1.0 layout stays what plugins were built against. */
#include "gateway_plugin.h"

_Static_assert(GW_PLUGIN_DESCRIPTOR_V1_0_SIZE == offsetof(gw_plugin_descriptor, on_filter_event),
               "ABI 1.0 descriptor layout changed: append fields and bump the minor instead");
_Static_assert(GW_PLUGIN_DESCRIPTOR_V1_3_SIZE == sizeof(gw_plugin_descriptor),
               "the newest descriptor field must be the last: append fields and bump the minor");
_Static_assert(GW_PLUGIN_DESCRIPTOR_V1_2_SIZE == offsetof(gw_plugin_descriptor, on_publish),
               "ABI 1.2 descriptor layout changed: append fields and bump the minor instead");
_Static_assert(GW_HOST_SERVICES_V1_2_SIZE == offsetof(gw_host_services, publish),
               "ABI 1.2 host services layout changed: append fields and bump the minor instead");
_Static_assert(offsetof(gw_plugin_descriptor, struct_size) == 0, "struct_size must come first");
_Static_assert(offsetof(gw_host_services, struct_size) == 0, "struct_size must come first");
_Static_assert(GW_PLUGIN_DESCRIPTOR_V1_1_SIZE == offsetof(gw_plugin_descriptor, on_send),
               "ABI 1.1 descriptor layout changed: append fields and bump the minor instead");
_Static_assert(offsetof(gw_message, code) == GW_MESSAGE_CAPACITY,
               "gw_message.text must stay first and keep its 1.0 size");
_Static_assert(GW_HOST_SERVICES_V1_3_SIZE == offsetof(gw_host_services, config_directory),
               "ABI 1.3 host services layout changed: append fields and bump the minor instead");
_Static_assert(offsetof(gw_host_services, config_directory) + sizeof(void *) == sizeof(gw_host_services),
               "the newest host service must be the last: append fields and bump the minor");
