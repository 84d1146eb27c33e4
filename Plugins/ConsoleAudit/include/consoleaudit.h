/* ConsoleAudit plugin: its only export is the ABI entry point. */
#include "gateway_plugin.h"
GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void);
