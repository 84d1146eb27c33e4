/*
 * consoleaudit.h — the bundled "console-audit" plugin (libConsoleAudit.so).
 * Its only export is the ABI entry point; see consoleaudit.c for what it does.
 */
#ifndef CONSOLEAUDIT_H
#define CONSOLEAUDIT_H

#include "gateway_plugin.h"

GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void);

#endif /* CONSOLEAUDIT_H */
