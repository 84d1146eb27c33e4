/*
 * thumbnailer.h — the bundled "thumbnailer" plugin (libThumbnailer.so).
 * Its only export is the ABI entry point; see thumbnailer.c for what it does.
 */
#ifndef THUMBNAILER_H
#define THUMBNAILER_H

#include "gateway_plugin.h"

GW_PLUGIN_EXPORT const gw_plugin_descriptor *gateway_plugin_entry(void);

#endif /* THUMBNAILER_H */
