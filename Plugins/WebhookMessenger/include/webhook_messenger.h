/* webhook_messenger.h — the bundled "webhook" messenger (libWebhookMessenger.so). Only the entry is exported. */
#ifndef WEBHOOK_MESSENGER_H
#define WEBHOOK_MESSENGER_H
#include "gateway_plugin.h"
GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void);
#endif
