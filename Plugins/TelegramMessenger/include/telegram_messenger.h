/* telegram_messenger.h — the bundled "telegram" messenger (libTelegramMessenger.so). Only the entry is exported. */
#ifndef TELEGRAM_MESSENGER_H
#define TELEGRAM_MESSENGER_H
#include "gateway_plugin.h"
GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void);
#endif
