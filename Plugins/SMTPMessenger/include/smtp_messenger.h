/* smtp_messenger.h — the bundled "smtp" messenger (libSMTPMessenger.so). Only the entry is exported. */
#ifndef SMTP_MESSENGER_H
#define SMTP_MESSENGER_H
#include "gateway_plugin.h"
GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void);
#endif
